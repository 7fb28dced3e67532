import { Module } from '@nestjs/common';
import { BackchannelAuthenticationController } from './backchannel-authentication.controller.js';
import { BackchannelAuthenticationService } from './backchannel-authentication.service.js';
import { DiscoveryController } from './discovery.controller.js';
import { UserCodeVerifier } from './user-code.verifier.js';
import { UserHintResolver } from './hints/user-hint.resolver.js';
import { hintProviders } from './hints/hint.providers.js';
import { ClientRegistrationController } from './registration/client-registration.controller.js';
import { ClientRegistrationService } from './registration/client-registration.service.js';

/** The authorize service: needs `CoreModule` (ports, keys, client authentication) in the app. */
@Module({
  controllers: [DiscoveryController, BackchannelAuthenticationController, ClientRegistrationController],
  providers: [BackchannelAuthenticationService, UserCodeVerifier, UserHintResolver, ...hintProviders, ClientRegistrationService],
})
export class AuthorizeModule {}

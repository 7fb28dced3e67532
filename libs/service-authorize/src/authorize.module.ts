import { Module } from '@nestjs/common';
import { BackchannelAuthenticationController } from './backchannel-authentication.controller.js';
import { BackchannelAuthenticationService } from './backchannel-authentication.service.js';
import { DiscoveryController } from './discovery.controller.js';
import { UserCodeVerifier } from './user-code.verifier.js';

/** The authorize service: needs `CoreModule` (ports, keys, client authentication) in the app. */
@Module({
  controllers: [DiscoveryController, BackchannelAuthenticationController],
  providers: [BackchannelAuthenticationService, UserCodeVerifier],
})
export class AuthorizeModule {}

import { Module } from '@nestjs/common';
import { CibaGrantService } from './ciba-grant.service.js';
import { RefreshGrantService } from './refresh-grant.service.js';
import { SenderConstraint } from './sender-constraint.js';
import { TokenController } from './token.controller.js';
import { TokenIntrospectionService } from './token-introspection.service.js';
import { TokenLifecycleController } from './token-lifecycle.controller.js';
import { TokenRevocationService } from './token-revocation.service.js';
import { UserInfoController } from './userinfo.controller.js';

/** The token service: needs `CoreModule` (ports, keys, client authentication) in the app. */
@Module({
  controllers: [TokenController, TokenLifecycleController, UserInfoController],
  providers: [CibaGrantService, RefreshGrantService, SenderConstraint, TokenIntrospectionService, TokenRevocationService],
})
export class TokenModule {}

import { Module } from '@nestjs/common';
import { CibaGrantService } from './ciba-grant.service.js';
import { RefreshGrantService } from './refresh-grant.service.js';
import { TokenController } from './token.controller.js';

/** The token service: needs `CoreModule` (ports, keys, client authentication) in the app. */
@Module({
  controllers: [TokenController],
  providers: [CibaGrantService, RefreshGrantService],
})
export class TokenModule {}

import { Body, Controller, type DynamicModule, Get, Headers, HttpCode, type MiddlewareConsumer, Module, type NestModule, Post } from '@nestjs/common';
import { DevToolsAccess } from './dev-tools/dev-tools-access.js';
import { DevToolsGate } from './dev-tools/dev-tools.gate.js';

interface ReceivedNotification {
  readonly receivedAt: string;
  readonly decisionToken: string | null;
  readonly request: Record<string, unknown>;
}

/**
 * Development only, mounted by the all-in-one start when CIBA_AUTH_CHANNEL_URI points at it: an
 * HTTP authentication channel endpoint that keeps the last notifications in memory so a newcomer can
 * see the decision token and answer the callback by hand. Never part of the distributed services.
 * Its notifications are live decision tokens: `DevToolsGate` answers 404 to anyone but this machine
 * (the notifier posts from loopback) or a holder of the start's key.
 */
@Controller('dev/device')
class DevDeviceController {
  private readonly received: ReceivedNotification[] = [];

  @Post()
  @HttpCode(204)
  receive(@Headers('authorization') authorization: string | undefined, @Body() body: Record<string, unknown>): void {
    const token = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : null;
    this.received.unshift({ receivedAt: new Date().toISOString(), decisionToken: token, request: body });
    this.received.length = Math.min(this.received.length, 50);
  }

  @Get('notifications')
  list(): { notifications: ReceivedNotification[] } {
    return { notifications: this.received };
  }
}

@Module({})
export class DevDeviceModule implements NestModule {
  static forRoot(access: DevToolsAccess): DynamicModule {
    return { module: DevDeviceModule, controllers: [DevDeviceController], providers: [{ provide: DevToolsAccess, useValue: access }, DevToolsGate] };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(DevToolsGate).forRoutes(DevDeviceController);
  }
}

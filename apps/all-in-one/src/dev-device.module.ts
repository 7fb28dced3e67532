import { Body, Controller, Get, Headers, HttpCode, Module, Post } from '@nestjs/common';

interface ReceivedNotification {
  readonly receivedAt: string;
  readonly decisionToken: string | null;
  readonly request: Record<string, unknown>;
}

/**
 * Development only, mounted by the all-in-one start: an HTTP authentication channel endpoint that
 * keeps the last notifications in memory so a newcomer can see the decision token and answer the
 * callback by hand. Never part of the distributed services.
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

@Module({ controllers: [DevDeviceController] })
export class DevDeviceModule {}

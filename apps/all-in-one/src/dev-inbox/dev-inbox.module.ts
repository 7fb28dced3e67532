import { Controller, type DynamicModule, Get, Header, Inject, type MiddlewareConsumer, Module, type NestModule, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { ChannelKind } from '@ciba/channels';
import { sendPage } from '@ciba/service-notifier';
import { DevToolsAccess } from '../dev-tools/dev-tools-access.js';
import { DevToolsGate } from '../dev-tools/dev-tools.gate.js';
import type { DevInbox, InboxMessage, InboxMessageAbout } from './dev-inbox.js';
import { emailPreviewCsp, renderInboxPage, renderMessagePage, renderNotFoundPage } from './dev-inbox.view.js';

const DEV_INBOX = Symbol('DevInbox');
const DEV_INBOX_KINDS = Symbol('DevInboxKinds');

/** Message ids are 12 base64url characters; anything else is not looked up. */
const ID_SHAPE = /^[A-Za-z0-9_-]{12}$/;

interface MessageJson {
  readonly id: string;
  readonly channel: ChannelKind;
  readonly about: InboxMessageAbout;
  readonly vendor: 'dev-inbox';
  readonly to: string;
  readonly receivedAt: string;
  readonly subject: string | null;
  readonly text: string;
  /** The approval page, for a sign-in request; null otherwise. */
  readonly approvalUrl: string | null;
  readonly links: readonly string[];
  /** Where the email's HTML part can be seen; null for SMS and device push. */
  readonly htmlUrl: string | null;
}

function toJson(m: InboxMessage): MessageJson {
  return {
    id: m.id,
    channel: m.channel,
    about: m.about,
    vendor: 'dev-inbox',
    to: m.to,
    receivedAt: m.receivedAt.toISOString(),
    subject: m.subject,
    text: m.text,
    approvalUrl: m.about === 'approval' ? (m.links[0] ?? null) : null,
    links: m.links,
    htmlUrl: m.html === null ? null : `/dev/inbox/messages/${m.id}`,
  };
}

/**
 * Development only, mounted by the all-in-one start (never by the distributed services): the page
 * and JSON that show what the development inbox captured. It holds addresses, numbers and live
 * approval links, so it must never be exposed beyond a developer's own machine: `DevToolsGate`
 * answers 404 to anyone but this machine or a holder of the start's key.
 */
@Controller('dev/inbox')
class DevInboxController {
  constructor(
    @Inject(DEV_INBOX) private readonly inbox: DevInbox,
    @Inject(DEV_INBOX_KINDS) private readonly kinds: readonly ChannelKind[],
  ) {}

  @Get()
  page(@Res() res: Response): void {
    sendPage(res, 200, (nonce) => renderInboxPage({ messages: this.inbox.list(), inboxKinds: this.kinds, nonce }));
  }

  @Get('messages')
  @Header('Cache-Control', 'no-store')
  messages(): { messages: MessageJson[] } {
    return { messages: this.inbox.list().map(toJson) };
  }

  @Get('messages/:id')
  message(@Param('id') id: string, @Res() res: Response): void {
    const message = ID_SHAPE.test(id) ? this.inbox.get(id) : null;
    if (!message) return sendPage(res, 404, renderNotFoundPage);
    sendPage(res, 200, (nonce) => renderMessagePage({ message, nonce }), emailPreviewCsp);
  }
}

@Module({})
// Not registered with HtmlErrorPages: a caller the gate turns away must get exactly the answer of a
// path where nothing is mounted (OAuth JSON 404), or the page's HTML 404 would reveal the inbox.
export class DevInboxModule implements NestModule {
  /** `kinds`: which channel kinds this inbox receives, shown on the page; `access`: who may see it. */
  static forRoot(inbox: DevInbox, kinds: readonly ChannelKind[], access: DevToolsAccess): DynamicModule {
    return {
      module: DevInboxModule,
      controllers: [DevInboxController],
      providers: [
        { provide: DEV_INBOX, useValue: inbox },
        { provide: DEV_INBOX_KINDS, useValue: kinds },
        { provide: DevToolsAccess, useValue: access },
        DevToolsGate,
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(DevToolsGate).forRoutes(DevInboxController);
  }
}

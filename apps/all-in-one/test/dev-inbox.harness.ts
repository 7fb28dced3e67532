import type { ChannelKind } from '@ciba/channels';
import { DevInbox, devInboxChannels } from '../src/dev-inbox/index.js';
import { type TestProvider, startTestProvider } from './provider-harness.js';

const ALL_KINDS: readonly ChannelKind[] = ['email', 'sms', 'device-push'];

/** The all-in-one composition with every channel kind going to a development inbox, the HTTP channel off. */
export async function startWithInbox(env: Record<string, string> = {}): Promise<{ op: TestProvider; inbox: DevInbox }> {
  const inbox = new DevInbox();
  const op = await startTestProvider({ CIBA_AUTH_CHANNEL_URI: '', ...env }, { channels: devInboxChannels(inbox), devInbox: { inbox, kinds: ALL_KINDS } });
  return { op, inbox };
}

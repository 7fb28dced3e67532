export { DevInbox, DEV_INBOX_CAPACITY } from './dev-inbox.js';
export type { InboxMessage, InboxMessageAbout, NewInboxMessage } from './dev-inbox.js';
export { DEV_INBOX_VENDOR, DevInboxDevicePushChannel, DevInboxEmailChannel, DevInboxSmsChannel, allInOneChannels, devInboxChannels, describeDevice } from './dev-inbox.channels.js';
export type { AllInOneChannels } from './dev-inbox.channels.js';
export { DevInboxModule } from './dev-inbox.module.js';

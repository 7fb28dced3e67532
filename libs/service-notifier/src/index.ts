export * from './notifier.module.js';
export * from './decision-tokens.js';
export * from './expiry-sweeper.service.js';
export * from './channels/http-authentication.channel.js';
export * from './approval-page/approval-links.js';
export * from './approval-page/approval-page.view.js';
export { UserNotifier, combineOutcomes } from './notification/user-notifier.service.js';
export { CONFIGURED_CHANNELS } from './notification/configured-channels.js';

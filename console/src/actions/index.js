/**
 * The console's actions: everything that changes state. Components import
 * them from here only; the socket connector reaches the server-event actions
 * through connection.js. Data flows one way: components → actions →
 * REST API / socket → store.
 */

export { boot, login, changePassword, logout, setStatus } from "./session.js";
export { go, back, setView, openConversation, showVisitor, showChat } from "./navigation.js";
export { loadLists, loadMore } from "./lists.js";
export { loadHistory } from "./conversation.js";
export { markRead } from "./attention.js";
export { loadOlder } from "./transcript.js";
export { accept, transfer, resolve, handback, undo, dismissConflict } from "./handoff.js";
export { send, retry, discard, draftOf, keepDraft, setMode } from "./composer.js";
export { composing, stopTyping } from "./typing.js";
export { addCanned, deleteCanned } from "./canned.js";
export { loadFollowups, loadMoreFollowups, followupDone } from "./followups.js";
export { setNotifyMode, enableNotifications, dismissPermissionBanner } from "./notifications.js";
export { openDialog, closeDialog } from "./dialogs.js";
export { onShortcutKey } from "./shortcuts.js";
export { toast, dismissToast } from "./toasts.js";
export { setFilters, loadDashboard } from "./dashboard.js";
export { startChat, loadMoreLive } from "./live.js";
export { canSeeAnalytics } from "./navigation.js";
export { signOutEverywhere } from "./team.js";
export { saveSegment, archiveSegment, previewSize } from "./segments.js";
export {
  saveCampaign, validateCampaign, clearValidation, campaignAction, planCampaign, setResultsMode, ACTION_LABELS,
} from "./campaigns.js";

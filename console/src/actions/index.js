/**
 * The console's actions: everything that changes state. Components import
 * them from here only; the socket connector reaches the server-event actions
 * through connection.js. Data flows one way: components → actions →
 * REST API / socket → store.
 */

export { boot, login, changePassword, logout, setStatus } from "./session.js";
export { go, back, setView, openConversation, showVisitor, showChat } from "./navigation.js";
export { loadLists, loadMoreResolved } from "./lists.js";
export { loadHistory, markRead } from "./conversation.js";
export { loadOlder } from "./transcript.js";
export { accept, transfer, resolve, handback, dismissConflict } from "./handoff.js";
export { send, retry, discard } from "./composer.js";
export { composing, stopTyping } from "./typing.js";
export { addCanned, deleteCanned } from "./canned.js";
export { loadFollowups, followupDone } from "./followups.js";
export { setNotifyMode, enableNotifications, dismissPermissionBanner } from "./notifications.js";
export { openDialog, closeDialog } from "./dialogs.js";
export { toast, dismissToast } from "./toasts.js";
export { setFilters, loadDashboard } from "./dashboard.js";
export { startChat } from "./live.js";
export { canSeeAnalytics } from "./navigation.js";

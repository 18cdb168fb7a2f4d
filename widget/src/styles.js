/**
 * The widget's stylesheet, scoped to its shadow root. Every size is in px and
 * every colour is set on `.root` (not inherited from the host element) so
 * host-page rules such as `* { color: red !important }` cannot leak in.
 */

export const CSS = `
:host { all: initial; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.root {
  --accent: #2f6f4e;
  --accent-text: #ffffff;
  --accent-ink: var(--accent);
  --bg: #ffffff;
  --fg: #1f2328;
  --muted: #5b636b;
  --line: #d8dde2;
  --bot-bg: #f1f3f5;
  color: var(--fg);
  font: 400 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  letter-spacing: normal;
  text-align: left;
  text-transform: none;
  -webkit-font-smoothing: antialiased;
}
.sr-only {
  position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
button, input, textarea { font: inherit; color: inherit; letter-spacing: inherit; }
button { cursor: pointer; -webkit-tap-highlight-color: transparent; }
:focus { outline: none; }
:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
.launcher {
  position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  width: 60px; height: 60px; border-radius: 50%; border: 0; padding: 0;
  display: flex; align-items: center; justify-content: center;
  background: var(--accent); color: var(--accent-text);
  box-shadow: 0 6px 20px rgba(0, 0, 0, .22);
  transition: transform .15s ease;
}
.launcher:hover { transform: scale(1.06); }
.launcher svg { width: 28px; height: 28px; fill: currentColor; }
.badge {
  position: absolute; top: -2px; right: -2px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #c62828; color: #fff; border: 2px solid #fff;
  font-size: 12px; font-weight: 700; line-height: 18px; text-align: center;
}
.panel {
  position: fixed; right: 20px; bottom: 20px; z-index: 2147483001;
  width: 380px; height: 600px; max-height: calc(100vh - 40px); max-width: calc(100vw - 40px);
  display: flex; flex-direction: column; overflow: hidden;
  background: var(--bg); color: var(--fg);
  border-radius: 14px; box-shadow: 0 12px 40px rgba(0, 0, 0, .28);
}
.header {
  display: flex; align-items: center; gap: 8px; padding: 12px 12px 12px 16px;
  background: var(--accent); color: var(--accent-text);
}
.heading { flex: 1; min-width: 0; }
.title { margin: 0; font-size: 16px; font-weight: 600; line-height: 1.3; color: inherit; }
.subtitle { margin: 1px 0 0; font-size: 13px; line-height: 1.3; color: inherit; opacity: .92; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.avatar {
  flex: 0 0 auto; width: 34px; height: 34px; border-radius: 50%; display: flex; align-items: center; justify-content: center;
  background: var(--accent-text); color: var(--accent); font-size: 15px; font-weight: 700; line-height: 1;
}
.handoff {
  display: flex; align-items: center; gap: 10px; padding: 9px 16px;
  background: #eef4fb; color: #1d3a5c; border-bottom: 1px solid #cfdff0; font-size: 13.5px; line-height: 1.35;
}
.handoff-text { display: flex; flex-direction: column; min-width: 0; }
.handoff-headline { font-weight: 600; }
.handoff-pulse { flex: 0 0 auto; width: 10px; height: 10px; border-radius: 50%; background: #2f80d1; animation: rapport-pulse 1.6s infinite ease-in-out; }
@keyframes rapport-pulse { 0%, 100% { opacity: 1; transform: scale(1); } 50% { opacity: .35; transform: scale(.7); } }
.close, .email-transcript {
  width: 36px; height: 36px; border: 0; border-radius: 8px; background: transparent; color: inherit;
  display: flex; align-items: center; justify-content: center; flex: none;
}
.email-transcript[hidden] { display: none; }
.close:hover, .email-transcript:hover { background: rgba(255, 255, 255, .18); }
.close svg, .email-transcript svg { width: 18px; height: 18px; stroke: currentColor; stroke-width: 2.2; fill: none; }
.email-transcript svg { stroke-width: 1.8; stroke-linejoin: round; }
.close:focus-visible, .email-transcript:focus-visible { outline-color: currentColor; outline-offset: -3px; }
.status { padding: 6px 16px; font-size: 13px; background: #fff4ce; color: #5c4400; border-bottom: 1px solid #eedc94; }
.log {
  flex: 1; overflow-y: auto; padding: 14px 14px 6px; display: flex; flex-direction: column; gap: 8px;
  overscroll-behavior: contain; background: var(--bg);
}
.log:focus-visible { outline-offset: -3px; }
.turn { display: flex; flex-direction: column; gap: 8px; }
.msg { display: flex; max-width: 85%; }
.msg-visitor { align-self: flex-end; }
.msg-bot, .msg-agent { align-self: flex-start; }
.msg-agent { flex-direction: column; align-items: flex-start; gap: 2px; }
.sender { font-size: 12px; font-weight: 600; color: #1d4f86; padding: 0 4px; line-height: 1.3; }
.same-sender .sender {
  position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
}
.bubble {
  margin: 0; padding: 8px 12px; border-radius: 16px; white-space: pre-wrap;
  overflow-wrap: anywhere; word-break: normal; font-size: 15px; color: var(--fg);
}
.msg-visitor .bubble { background: var(--accent); color: var(--accent-text); border-bottom-right-radius: 4px; }
.msg-bot .bubble { background: var(--bot-bg); border-bottom-left-radius: 4px; }
.msg-agent .bubble { background: #e3eefb; border: 1px solid #c9dcf3; border-bottom-left-radius: 4px; }
.msg-warning .bubble { background: #fff8e1; color: #5c4400; border: 1px solid #f0d48a; }
.msg.pending .bubble { opacity: .7; }
.msg.failed .bubble { opacity: .7; outline: 1px dashed #b3261e; outline-offset: 2px; }
.msg.failed::after { content: "Not sent"; display: block; font-size: 11px; color: #b3261e; text-align: right; margin-top: 2px; }
.attachment { display: block; width: 240px; max-width: 100%; height: auto; max-height: 240px; object-fit: contain; background: #f6f7f4; border-radius: 12px; border: 1px solid var(--line); }
.note { align-self: center; max-width: 90%; font-size: 12.5px; color: var(--muted); text-align: center; }
.note-error { color: #9f1d1d; }
.note-handoff { color: #1d3a5c; font-weight: 500; }
.csat {
  align-self: stretch; display: flex; flex-direction: column; gap: 10px; padding: 14px;
  border: 1px solid var(--line); border-radius: 12px; background: #fafbfc;
}
.csat.busy { opacity: .7; }
.csat-title { margin: 0; font-size: 15px; font-weight: 600; color: var(--fg); }
.csat-stars { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.stars { display: flex; gap: 2px; }
.star {
  width: 44px; height: 44px; padding: 6px; border: 0; border-radius: 8px; background: transparent; color: #b3bac1;
  display: flex; align-items: center; justify-content: center;
}
.star svg { width: 30px; height: 30px; fill: currentColor; }
.star.on { color: #e8a317; }
@media (hover: hover) {
  .csat:not(.busy) .stars:hover .star { color: #e8a317; }
  .csat:not(.busy) .stars .star:hover ~ .star { color: #b3bac1; }
}
.star:focus-visible { outline-offset: -2px; }
.csat-choice { font-size: 14px; color: var(--muted); }
.csat-label { display: flex; flex-direction: column; gap: 4px; font-size: 13px; color: var(--muted); }
.csat-comment {
  width: 100%; min-height: 58px; padding: 8px 10px; resize: vertical; border-radius: 8px;
  border: 1.5px solid var(--line); background: #fff; color: var(--fg); font-size: 15px; line-height: 1.4;
}
.csat-comment:focus-visible { outline-offset: 0; border-color: transparent; }
.csat-submit {
  align-self: flex-start; height: 40px; padding: 0 20px; border: 0; border-radius: 20px;
  background: var(--accent); color: var(--accent-text); font-weight: 600;
}
.csat-submit:disabled { opacity: .45; cursor: default; }
.csat-done { align-items: center; gap: 2px; }
.csat-thanks { margin: 0; font-weight: 600; color: var(--fg); }
.csat-given { margin: 0; color: #e8a317; font-size: 18px; letter-spacing: 2px; }
.replies { display: flex; flex-wrap: wrap; gap: 6px; }
.reply {
  padding: 6px 12px; border-radius: 16px; border: 1.5px solid var(--accent);
  background: var(--bg); color: var(--accent-ink); font-size: 14px; text-decoration: none; line-height: 1.3;
}
.reply:hover:not(:disabled) { background: var(--accent); color: var(--accent-text); }
.reply:disabled { cursor: default; opacity: .45; }
.reply.chosen { opacity: 1; background: var(--accent); color: var(--accent-text); }
.replies.used .reply:not(.chosen) { display: none; }
.cards { display: flex; gap: 10px; overflow-x: auto; padding: 2px 2px 6px; scroll-snap-type: x mandatory; }
.card {
  flex: 0 0 190px; scroll-snap-align: start; display: flex; flex-direction: column; cursor: pointer;
  border: 1px solid var(--line); border-radius: 12px; overflow: hidden; background: var(--bg);
}
.card:hover { border-color: var(--accent); }
.card-img { display: block; width: 100%; height: 110px; object-fit: contain; background: #f6f7f4; }
.card-body { display: flex; flex-direction: column; gap: 4px; padding: 8px 10px 10px; flex: 1; }
.card-name { margin: 0; font-size: 14px; font-weight: 600; line-height: 1.3; color: var(--fg); }
.card-price { margin: 0; font-size: 14px; font-weight: 600; color: var(--accent-ink); }
.card-reason { margin: 0; font-size: 12.5px; color: var(--muted); line-height: 1.35; }
.card-link {
  margin-top: auto; align-self: flex-start; padding: 4px 12px; border-radius: 8px;
  background: var(--accent); color: var(--accent-text); font-size: 13px; font-weight: 600; text-decoration: none;
}
.typing { display: flex; gap: 4px; align-items: center; padding: 0 18px 8px; height: 22px; }
.typing .dot { width: 7px; height: 7px; border-radius: 50%; background: #9aa1a8; animation: rapport-blink 1.2s infinite ease-in-out; }
.typing .dot:nth-child(2) { animation-delay: .2s; }
.typing .dot:nth-child(3) { animation-delay: .4s; }
.typing-label { margin-left: 6px; font-size: 12.5px; color: var(--muted); font-style: italic; }
@keyframes rapport-blink { 0%, 80%, 100% { opacity: .3; transform: translateY(0); } 40% { opacity: 1; transform: translateY(-3px); } }
.composer { display: flex; gap: 8px; padding: 10px 12px; border-top: 1px solid var(--line); background: var(--bg); }
.input {
  flex: 1; min-width: 0; height: 42px; padding: 0 14px; border-radius: 21px;
  border: 1.5px solid var(--line); background: #fff; color: var(--fg); font-size: 15px;
}
.input:focus-visible { outline: 3px solid #1a73e8; outline-offset: 0; border-color: transparent; }
.send {
  width: 42px; height: 42px; border-radius: 50%; border: 0; background: var(--accent); color: var(--accent-text);
  display: flex; align-items: center; justify-content: center; flex: 0 0 auto;
}
.send svg { width: 20px; height: 20px; fill: currentColor; }
.teaser {
  position: fixed; right: 20px; bottom: 92px; z-index: 2147483000;
  width: max-content; max-width: min(320px, calc(100vw - 40px));
  display: flex; flex-direction: column; gap: 8px; padding: 12px 44px 12px 14px;
  background: var(--bg); color: var(--fg); border: 1px solid var(--line); border-radius: 14px;
  box-shadow: 0 8px 28px rgba(0, 0, 0, .2);
  animation: rapport-teaser-in .22s ease-out;
}
.teaser::after {
  content: ""; position: absolute; right: 24px; bottom: -7px; width: 12px; height: 12px;
  background: var(--bg); border-right: 1px solid var(--line); border-bottom: 1px solid var(--line); transform: rotate(45deg);
}
@keyframes rapport-teaser-in { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }
.teaser-body {
  display: flex; flex-direction: column; gap: 2px; margin: 0; padding: 0; border: 0; border-radius: 6px;
  background: transparent; text-align: left; color: var(--fg);
}
.teaser-from { font-size: 12.5px; font-weight: 600; color: var(--muted); line-height: 1.3; }
.teaser-text {
  font-size: 15px; line-height: 1.4; overflow-wrap: anywhere; white-space: pre-wrap;
  display: -webkit-box; -webkit-line-clamp: 4; -webkit-box-orient: vertical; overflow: hidden;
}
.teaser-close {
  position: absolute; top: 6px; right: 6px; width: 32px; height: 32px; padding: 0; border: 0; border-radius: 8px;
  display: flex; align-items: center; justify-content: center; background: transparent; color: var(--muted);
}
.teaser-close:hover { background: #eef0f2; color: var(--fg); }
.teaser-close svg { width: 16px; height: 16px; stroke: currentColor; stroke-width: 2.2; fill: none; }
.teaser-close:focus-visible { outline-offset: -2px; }
.teaser-replies .reply { min-height: 32px; }
.nps-question { margin: 0; font-size: 15px; font-weight: 600; line-height: 1.35; }
.nps-scale { display: grid; grid-template-columns: repeat(11, minmax(24px, 1fr)); gap: 3px; }
.nps-score {
  min-width: 24px; height: 36px; padding: 0; border: 1.5px solid var(--line); border-radius: 6px;
  background: var(--bg); color: var(--fg); font-size: 14px; font-weight: 600;
}
.nps-score:hover { border-color: var(--accent); background: var(--accent); color: var(--accent-text); }
.nps-score:focus-visible { outline-offset: 1px; }
.nps-hint { display: flex; justify-content: space-between; gap: 12px; margin: 0; font-size: 12.5px; color: var(--muted); }
.nps-thanks { margin: 0; font-weight: 600; }
.teaser-nps { width: 320px; }
@media (max-width: 600px) {
  .teaser { right: 16px; bottom: 88px; max-width: min(300px, calc(100vw - 32px)); }
  .teaser-nps { width: calc(100vw - 32px); max-width: 340px; }
  .panel {
    top: 0; right: 0; bottom: 0; left: 0; width: 100%; height: 100%;
    max-width: none; max-height: none; border-radius: 0;
  }
  .input, .csat-comment { font-size: 16px; } /* below 16px iOS zooms the page on focus */
  .launcher { right: 16px; bottom: 16px; }
}
@media (prefers-reduced-motion: reduce) {
  .launcher { transition: none; }
  .typing .dot { animation: none; opacity: .6; }
  .handoff-pulse { animation: none; }
  .teaser { animation: none; }
}
`;

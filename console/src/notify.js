/**
 * Desktop notifications and a short beep (WebAudio, no audio files).
 *
 * Browsers only allow sound after a user gesture and only ask for the
 * notification permission from one: `unlock()` and `requestPermission()` are
 * called from click handlers.
 */

let audio = null;

/** Create/resume the audio context; call from a user gesture. */
export function unlockAudio() {
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    if (!audio) audio = new Ctx();
    if (audio.state === "suspended") audio.resume().catch(() => {});
  } catch (_) {
    audio = null;
  }
}

/** Two short soft tones. Silent if audio was never unlocked. */
export function beep() {
  if (!audio || audio.state !== "running") return;
  const start = audio.currentTime + 0.01;
  [[880, 0], [1175, 0.16]].forEach(([freq, offset]) => {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    const t = start + offset;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.18, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.14);
    osc.connect(gain).connect(audio.destination);
    osc.start(t);
    osc.stop(t + 0.15);
  });
}

export function permission() {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

/** Ask for the desktop-notification permission (from a user gesture). */
export async function requestPermission() {
  if (typeof Notification === "undefined") return "unsupported";
  if (Notification.permission !== "default") return Notification.permission;
  try {
    return await Notification.requestPermission();
  } catch (_) {
    return Notification.permission;
  }
}

/**
 * Show a desktop notification; one per conversation (`tag`) so a repeat
 * replaces the previous one instead of stacking up.
 */
export function desktop(title, body, tag, onClick) {
  if (permission() !== "granted") return;
  try {
    const n = new Notification(title, { body, tag, renotify: true, silent: true });
    n.onclick = () => {
      window.focus();
      n.close();
      if (onClick) onClick();
    };
  } catch (_) {
    // Some platforms (Android Chrome) only allow notifications from a service worker.
  }
}

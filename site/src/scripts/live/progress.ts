/** The live box's loading lines: one per file (bytes of total, or "from this browser's cache"), and notes. Text only. */
import type { AssetHooks } from './assets.ts';

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

export function progressHooks(box: HTMLElement): AssetHooks {
  box.replaceChildren();
  const lines = new Map<string, HTMLElement>();
  const line = (key: string) => {
    let el = lines.get(key);
    if (!el) {
      el = document.createElement('li');
      lines.set(key, el);
      box.append(el);
    }
    return el;
  };
  return {
    onProgress(p) {
      const el = line(p.label);
      el.textContent = p.fromCache ? `${p.label}: ${mib(p.total)}, from this browser's cache` : `${p.label}: ${mib(p.loaded)} of ${mib(p.total)}`;
      Object.assign(el.dataset, { label: p.label, loaded: String(p.loaded), total: String(p.total), source: p.fromCache ? 'cache' : 'network' });
    },
    onNote(m) {
      line(`note:${m}`).textContent = m;
    },
  };
}


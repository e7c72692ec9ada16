/**
 * A one-line progress bar on stderr with rate and ETA, redrawn at most
 * ten times a second. Silent when stderr is not a terminal, so logs and
 * `--json` pipelines stay clean (quantize then logs a line a block).
 */
export interface Progress {
  update(done: number, total: number, note?: string): void;
  done(): void;
}

const fmtTime = (s: number): string => {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  const r = Math.round(s % 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}:${String(r).padStart(2, '0')}`;
};

export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  const start = performance.now();
  let last = 0;
  let drawn = false;
  return {
    update(done, total, note) {
      const now = performance.now();
      if (done < total && now - last < 100) return;
      last = now;
      const frac = total > 0 ? done / total : 0;
      const width = 24;
      const fill = Math.round(frac * width);
      const elapsed = (now - start) / 1000;
      const eta = frac > 0 ? (elapsed * (1 - frac)) / frac : Infinity;
      const bar = '█'.repeat(fill) + '░'.repeat(width - fill);
      stream.write(`\r${label} ${bar} ${done}/${total} ${fmtTime(elapsed)}<${fmtTime(eta)}${note ? ` ${note}` : ''}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

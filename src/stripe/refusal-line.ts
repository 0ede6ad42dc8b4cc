/**
 * How long the line of refused buyers is, as this instance sees it: refusals against
 * admissions over the last second. Telling every refused buyer the same "1 s" brings
 * them all back at once (measured: 400 refusals a second for 19 payments, the machine
 * spent answering them); each is told a moment spread over the line instead.
 */
export class RefusalLine {
  private second = 0;
  private counts = { admitted: 0, refused: 0 };
  private last = { admitted: 0, refused: 0 };

  admitted(): void {
    this.roll();
    this.counts.admitted += 1;
  }

  /** Counts a refusal; a random wait, in ms, up to half the time the line ahead takes to be served (at most 10 s). */
  spreadMs(): number {
    this.roll();
    this.counts.refused += 1;
    const lineSeconds = this.last.refused / Math.max(1, this.last.admitted);
    return Math.random() * Math.min(10_000, 500 * lineSeconds);
  }

  private roll(): void {
    const second = Math.floor(Date.now() / 1000);
    if (second === this.second) return;
    this.last = second === this.second + 1 ? this.counts : { admitted: 0, refused: 0 };
    this.counts = { admitted: 0, refused: 0 };
    this.second = second;
  }
}

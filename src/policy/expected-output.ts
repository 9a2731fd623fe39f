// How many output tokens to expect from a request that does not say (no max_tokens): per model
// group, a cold gateway assumes the model's maximum output (safe side), then learns from answers.

const COLD_DEFAULT = 4096;

export class ExpectedOutput {
  private readonly learned = new Map<string, number>();

  /** `coldMax`: the group's max output tokens when configured (model_info.max_output_tokens). */
  tokens(group: string, maxTokens: number | null, coldMax: number | null): number {
    if (maxTokens !== null) return maxTokens;
    const avg = this.learned.get(group);
    // Twice the running average: most answers fit, and a streamed answer is metered as it flows anyway.
    return avg === undefined ? (coldMax ?? COLD_DEFAULT) : Math.ceil(avg * 2);
  }

  observe(group: string, outputTokens: number): void {
    const avg = this.learned.get(group);
    this.learned.set(group, avg === undefined ? outputTokens : avg * 0.9 + outputTokens * 0.1);
  }
}

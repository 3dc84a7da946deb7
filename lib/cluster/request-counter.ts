/** How many requests this run sent to the Kubernetes API (reported in the result document). */
export interface RequestCount {
  readonly count: number;
}

export class RequestCounter implements RequestCount {
  private n = 0;

  get count(): number {
    return this.n;
  }

  async track<T>(request: () => Promise<T>): Promise<T> {
    this.n++;
    return request();
  }
}

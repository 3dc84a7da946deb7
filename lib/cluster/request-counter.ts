/** Counts the requests this run sent to the Kubernetes API (reported in the result document). */
export class RequestCounter {
  private n = 0;

  get count(): number {
    return this.n;
  }

  async track<T>(request: () => Promise<T>): Promise<T> {
    this.n++;
    return request();
  }
}

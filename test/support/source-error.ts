import { expect } from '@jest/globals';
import { SourceError } from '../../lib/source/source.js';

/** The SourceError a detection fails with; fails the test if it answers or fails otherwise. */
export async function sourceFailure(detection: Promise<unknown>): Promise<SourceError> {
  try {
    await detection;
  } catch (error) {
    expect(error).toBeInstanceOf(SourceError);
    return error as SourceError;
  }
  throw new Error('the source answered');
}

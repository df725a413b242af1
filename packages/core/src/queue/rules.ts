/**
 * What makes one recipe differ from another: given the queue's nodes in grant order and this
 * node's index, the earlier node this one must see gone before it re-lists, or undefined when its
 * turn has come. A waiter watches that node alone, so a release wakes one waiter, not the herd.
 */
export type BlockerRule = (contenders: readonly string[], index: number) => string | undefined;

/** A mutex (and an election): the first node holds; every other waits for the one just ahead. */
export const exclusive: BlockerRule = (contenders, index) =>
  index === 0 ? undefined : contenders[index - 1];

export { type ConnectZooKeeperOptions, connectZooKeeper } from "./connect.js";
export {
  type EnsembleMember,
  type MemberRef,
  type StartEnsembleOptions,
  startEnsemble,
  type ZooKeeperEnsemble,
} from "./ensemble.js";
export {
  isZooKeeperTestingError,
  ZooKeeperNotFoundError,
  ZooKeeperTestingError,
  type ZooKeeperTestingErrorCode,
} from "./errors.js";
export { type ExpireSessionOptions, expireSession, type SessionCredentials } from "./expire-session.js";
export { type FindZooKeeperOptions, findZooKeeper, type ZooKeeperInstallation } from "./find-zookeeper.js";
export { type FourLetterOptions, fourLetter } from "./four-letter.js";
export { freePorts, type ZooKeeperServerOptions } from "./jvm-server.js";
export { type PausedProcess, pauseProcess, pauseProcessFor } from "./pause-process.js";
export {
  type DroppedReply,
  type DroppedRequest,
  type DropReplyOptions,
  type LatencyOptions,
  type ProxyTarget,
  type RequestMatch,
  type StartProxyOptions,
  startProxy,
  type ZooKeeperProxy,
} from "./proxy.js";
export { seededRandom } from "./seeded-random.js";
export { type StartZooKeeperOptions, startZooKeeper, type ZooKeeperServer } from "./server.js";
export {
  makeCertificates,
  startTlsZooKeeper,
  type TestCertificates,
} from "./tls.js";
export { type WaitForOptions, waitFor } from "./wait-for.js";
export { type RequestKind, requestKinds } from "./zookeeper-frames.js";

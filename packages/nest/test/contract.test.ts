// The shared lock contract, run through a provider method decorated with @DistributedLock(), in a
// Nest application context per manager that shares the manager through ZkLockModule.forRoot().
import { randomUUID } from "node:crypto";
import { Inject, Injectable, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { ZkLockManager } from "@zk-dist-lock/core";
import { describeLockContract } from "@zk-dist-lock/lock-contract";
import { currentLock, DistributedLock, ZkLockModule } from "../src/index.js";

/** The works the contract handed to `run()`, by id, until the decorated method takes them. */
type PendingWorks = Map<string, (token: bigint) => Promise<unknown>>;
const PENDING_WORKS = Symbol("pending works");

@Injectable()
class ContractService {
  constructor(@Inject(PENDING_WORKS) private readonly works: PendingWorks) {}

  // The key comes from the arguments, as in applications; the id only finds the work.
  @DistributedLock((key: string, _id: string) => key)
  async run(_key: string, id: string): Promise<unknown> {
    const work = this.works.get(id);
    if (work === undefined) throw new Error(`No pending work with id ${id}.`);
    return work(currentLock().token);
  }
}

@Module({})
class ContractModule {}

describeLockContract(
  "Nest @DistributedLock()",
  async (manager, rootDir) => {
    const works: PendingWorks = new Map();
    const app = await NestFactory.createApplicationContext(
      {
        module: ContractModule,
        imports: [ZkLockModule.forRoot({ manager, rootDir })],
        providers: [ContractService, { provide: PENDING_WORKS, useValue: works }],
      },
      { logger: false, abortOnError: false },
    );
    const service = app.get(ContractService);
    return {
      async run<T>(key: string, work: (token: bigint) => Promise<T>): Promise<T> {
        const id = randomUUID();
        works.set(id, work);
        try {
          return (await service.run(key, id)) as T;
        } finally {
          works.delete(id);
        }
      },
      // The module was given the manager, so closing the application leaves it open for the next case.
      close: () => app.close(),
    };
  },
  { createManager: () => new ZkLockManager() },
);

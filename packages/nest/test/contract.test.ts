// The shared lock contract, run through @DistributedLock() (exclusive and shared) and
// @DistributedSemaphore() twice: on provider methods, in a Nest application context per manager,
// and on controller routes over real HTTP, in a Nest HTTP application per manager, where the caller
// can also go away mid-request. Both share the manager through ZkLockModule.forRoot().
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import {
  type ArgumentsHost,
  Catch,
  Controller,
  type ExceptionFilter,
  Inject,
  Injectable,
  Module,
  Param,
  Post,
  Res,
  UseFilters,
} from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { ZkLockManager } from "@zk-dist-lock/core";
import {
  CONTRACT_PERMITS,
  type ContractHold,
  describeLockContract,
  HttpWorks,
  httpAdapter,
} from "@zk-dist-lock/lock-contract";
import {
  currentLock,
  currentPermit,
  DistributedLock,
  DistributedSemaphore,
  ZkLockModule,
} from "../src/index.js";
import { createApp, listen } from "./helpers.js";

/** The works the contract handed to `run()`, by id, until the decorated method takes them. */
type PendingWorks = Map<string, (token: bigint) => Promise<unknown>>;
const PENDING_WORKS = Symbol("pending works");

@Injectable()
class ContractService {
  constructor(@Inject(PENDING_WORKS) private readonly works: PendingWorks) {}

  // The key comes from the arguments, as in applications; the id only finds the work. A method
  // per hold of the contract, named after it.
  @DistributedLock((key: string, _id: string) => key)
  async exclusive(_key: string, id: string): Promise<unknown> {
    return this.#work(id)(currentLock().token);
  }

  @DistributedLock((key: string, _id: string) => key, { mode: "shared" })
  async shared(_key: string, id: string): Promise<unknown> {
    return this.#work(id)(currentLock().token);
  }

  @DistributedSemaphore((key: string, _id: string) => key, { permits: CONTRACT_PERMITS })
  async semaphore(_key: string, id: string): Promise<unknown> {
    return this.#work(id)(currentPermit().token);
  }

  #work(id: string) {
    const work = this.works.get(id);
    if (work === undefined) throw new Error(`No pending work with id ${id}.`);
    return work;
  }
}

@Module({})
class ContractModule {}

describeLockContract(
  "Nest @DistributedLock() and @DistributedSemaphore() on a provider",
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
      async run<T>(key: string, hold: ContractHold, work: (token: bigint) => Promise<T>): Promise<T> {
        const id = randomUUID();
        works.set(id, work);
        try {
          return (await service[hold](key, id)) as T;
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

const HTTP_WORKS = Symbol("http works");

// Answers what the work threw with its message, so the client side can reject with it.
@Catch()
class AnswerError implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<ServerResponse>();
    res.statusCode = 500;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
  }
}

@Controller("run")
@UseFilters(AnswerError)
class ContractController {
  constructor(@Inject(HTTP_WORKS) private readonly works: HttpWorks) {}

  @Post("exclusive/:key/:id")
  @DistributedLock((key: string) => key)
  async exclusive(
    @Param("key") _key: string,
    @Param("id") id: string,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<{ result: unknown }> {
    return { result: await this.#work(id)(currentLock().token, res) };
  }

  @Post("shared/:key/:id")
  @DistributedLock((key: string) => key, { mode: "shared" })
  async shared(
    @Param("key") _key: string,
    @Param("id") id: string,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<{ result: unknown }> {
    return { result: await this.#work(id)(currentLock().token, res) };
  }

  @Post("semaphore/:key/:id")
  @DistributedSemaphore((key: string) => key, { permits: CONTRACT_PERMITS })
  async semaphore(
    @Param("key") _key: string,
    @Param("id") id: string,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<{ result: unknown }> {
    return { result: await this.#work(id)(currentPermit().token, res) };
  }

  #work(id: string) {
    const work = this.works.take(id);
    if (work === undefined) throw new Error(`No pending work with id ${id}.`);
    return work;
  }
}

describeLockContract(
  "Nest @DistributedLock() and @DistributedSemaphore() on controller routes over HTTP",
  async (manager, rootDir) => {
    const works = new HttpWorks();
    @Module({
      imports: [ZkLockModule.forRoot({ manager, rootDir })],
      controllers: [ContractController],
      providers: [{ provide: HTTP_WORKS, useValue: works }],
    })
    class HttpContractModule {}
    const app = await createApp(HttpContractModule);
    const url = await listen(app);
    return httpAdapter(`${url}/run`, works, () => app.close());
  },
  { createManager: () => new ZkLockManager() },
);

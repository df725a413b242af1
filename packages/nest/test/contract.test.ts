// The shared lock contract, run through @DistributedLock() twice: on a provider method, in a Nest
// application context per manager, and on a controller route over real HTTP, in a Nest HTTP
// application per manager, where the caller can also go away mid-request. Both share the manager
// through ZkLockModule.forRoot().
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
import { describeLockContract, HttpWorks, httpAdapter } from "@zk-dist-lock/lock-contract";
import { currentLock, DistributedLock, ZkLockModule } from "../src/index.js";
import { createApp, listen } from "./helpers.js";

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
  "Nest @DistributedLock() on a provider",
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

  @Post(":key/:id")
  @DistributedLock((key: string) => key)
  async run(
    @Param("key") _key: string,
    @Param("id") id: string,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<{ result: unknown }> {
    const work = this.works.take(id);
    if (work === undefined) throw new Error(`No pending work with id ${id}.`);
    return { result: await work(currentLock().token, res) };
  }
}

describeLockContract(
  "Nest @DistributedLock() on a controller route over HTTP",
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

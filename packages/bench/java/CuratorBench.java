import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * The Apache Curator side of `pnpm bench`: the same scenarios as the Node side, with Curator's
 * InterProcessMutex, the reference ZooKeeper lock, and its InterProcessReadWriteLock and
 * InterProcessSemaphoreV2.
 *
 * <p>Usage: {@code java CuratorBench <connect> [command]}. Without a command it reads commands from
 * stdin, one per line, and answers each with one JSON line (c, rw and s say on two lines before it
 * when their loops start and stop); the JVM stays up between commands so that its JIT is as warm as
 * the Node side's. Commands:
 *
 * <pre>
 *   u &lt;path&gt; &lt;cycles&gt;               one client, one lock: acquire+release cycles
 *   c &lt;path&gt; &lt;sessions&gt; &lt;millis&gt;    K sessions looping on one lock for a fixed time
 *   m &lt;root&gt; &lt;resources&gt;            one client, M never-used locks, each acquired once
 *   rw &lt;path&gt; &lt;sessions&gt; &lt;millis&gt; &lt;seed&gt; &lt;writeShare&gt;
 *                                     K sessions on one read-write lock, each cycle exclusive with
 *                                     probability writeShare (session i draws from seed + i)
 *   s &lt;path&gt; &lt;sessions&gt; &lt;millis&gt; &lt;permits&gt; &lt;holdMillis&gt;
 *                                     K sessions on one semaphore of P permits, each hold
 *                                     lasting holdMillis
 * </pre>
 *
 * Latencies are reported in microseconds.
 */
public final class CuratorBench {
  private static final int SESSION_TIMEOUT_MS = 5000;

  private final String connect;
  private final CuratorFramework client;

  private CuratorBench(String connect) throws InterruptedException {
    this.connect = connect;
    this.client = open(connect);
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: java CuratorBench <connect> [u|c|m args...]");
      System.exit(2);
    }
    CuratorBench bench = new CuratorBench(args[0]);
    try {
      if (args.length > 1) {
        String[] command = new String[args.length - 1];
        System.arraycopy(args, 1, command, 0, command.length);
        System.out.println(bench.run(command));
        return;
      }
      System.out.println("{\"ready\":true}");
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        line = line.trim();
        if (line.isEmpty()) continue;
        if (line.equals("quit")) break;
        String answer;
        try {
          answer = bench.run(line.split("\\s+"));
        } catch (Exception e) {
          answer = "{\"error\":" + quote(e.toString()) + "}";
        }
        System.out.println(answer);
        System.out.flush();
      }
    } finally {
      bench.client.close();
    }
  }

  private String run(String[] command) throws Exception {
    switch (command[0]) {
      case "u":
        return uncontended(command[1], Integer.parseInt(command[2]));
      case "c":
        return contended(command[1], Integer.parseInt(command[2]), Long.parseLong(command[3]));
      case "m":
        return manyResources(command[1], Integer.parseInt(command[2]));
      case "rw":
        return readMostly(
            command[1],
            Integer.parseInt(command[2]),
            Long.parseLong(command[3]),
            Integer.parseInt(command[4]),
            Double.parseDouble(command[5]));
      case "s":
        return semaphore(
            command[1],
            Integer.parseInt(command[2]),
            Long.parseLong(command[3]),
            Integer.parseInt(command[4]),
            Long.parseLong(command[5]));
      default:
        throw new IllegalArgumentException("unknown command " + command[0]);
    }
  }

  private static CuratorFramework open(String connect) throws InterruptedException {
    CuratorFramework client =
        CuratorFrameworkFactory.builder()
            .connectString(connect)
            .sessionTimeoutMs(SESSION_TIMEOUT_MS)
            .retryPolicy(new ExponentialBackoffRetry(100, 3))
            .build();
    client.start();
    if (!client.blockUntilConnected(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("could not connect to " + connect);
    }
    return client;
  }

  private String uncontended(String path, int cycles) throws Exception {
    InterProcessMutex mutex = new InterProcessMutex(client, path);
    long[] latencies = new long[cycles];
    long start = System.nanoTime();
    for (int i = 0; i < cycles; i++) {
      long t0 = System.nanoTime();
      mutex.acquire();
      mutex.release();
      latencies[i] = (System.nanoTime() - t0) / 1000;
    }
    long elapsed = System.nanoTime() - start;
    return "{\"cycles\":" + cycles + ",\"elapsedMs\":" + elapsed / 1e6 + ",\"latenciesUs\":" + array(latencies) + "}";
  }

  /** One session's loop: runs on a thread of its own with a client of its own until the deadline. */
  private interface SessionLoop {
    void run(int session, CuratorFramework client, long deadline) throws Exception;
  }

  /**
   * Opens K clients, runs one loop per client on a thread each until {@code millis} have passed,
   * and closes the clients; returns the elapsed nanoseconds. A loop's failure fails the command.
   * It says {@code {"looping":true}} as the loops start and {@code {"stopped":true}} once they have
   * all ended, each on a line of its own before the answer: the Node side reads this JVM's CPU time,
   * ZooKeeper's and the machine's at both, so that opening and closing clients stays out.
   */
  private long runSessions(int sessions, long millis, SessionLoop loop) throws Exception {
    List<CuratorFramework> clients = new ArrayList<>();
    try {
      for (int i = 0; i < sessions; i++) clients.add(open(connect));
      List<Thread> threads = new ArrayList<>();
      List<Throwable> failures = new ArrayList<>();
      System.out.println("{\"looping\":true}");
      System.out.flush();
      long start = System.nanoTime();
      long deadline = start + millis * 1_000_000L;
      for (int i = 0; i < sessions; i++) {
        int session = i;
        CuratorFramework client = clients.get(i);
        Thread thread =
            new Thread(
                () -> {
                  try {
                    loop.run(session, client, deadline);
                  } catch (Throwable t) {
                    synchronized (failures) {
                      failures.add(t);
                    }
                  }
                });
        threads.add(thread);
        thread.start();
      }
      for (Thread thread : threads) thread.join();
      long elapsed = System.nanoTime() - start;
      System.out.println("{\"stopped\":true}");
      System.out.flush();
      if (!failures.isEmpty()) throw new IllegalStateException(failures.get(0).toString(), failures.get(0));
      return elapsed;
    } finally {
      for (CuratorFramework c : clients) c.close();
    }
  }

  private String contended(String path, int sessions, long millis) throws Exception {
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    // When the last holder called release(): an acquisition that began before it is a handoff.
    AtomicLong releasedAt = new AtomicLong();
    List<Long> handoffs = new ArrayList<>();
    int[] counts = new int[sessions];
    List<List<Long>> waits = lists(sessions);
    long elapsed =
        runSessions(
            sessions,
            millis,
            (session, client, deadline) -> {
              InterProcessMutex mutex = new InterProcessMutex(client, path);
              List<Long> own = waits.get(session);
              while (System.nanoTime() < deadline) {
                long t0 = System.nanoTime();
                mutex.acquire();
                long t1 = System.nanoTime();
                own.add((t1 - t0) / 1000);
                long released = releasedAt.get();
                if (released > t0) {
                  synchronized (handoffs) {
                    handoffs.add((t1 - released) / 1000);
                  }
                }
                // The critical section: anyone else inside now is an overlap.
                if (inside.incrementAndGet() != 1) overlaps.incrementAndGet();
                Thread.yield();
                inside.decrementAndGet();
                counts[session]++;
                releasedAt.set(System.nanoTime());
                mutex.release();
              }
            });
    return "{\"elapsedMs\":" + elapsed / 1e6 + ",\"overlaps\":" + overlaps.get() + ",\"perSession\":"
        + array(counts) + ",\"waitsUs\":" + array(flatten(waits)) + ",\"handoffsUs\":"
        + array(flatten(List.of(handoffs))) + "}";
  }

  /**
   * Who holds at once, as the Node side's witness counts it (src/scenarios/sharing.ts): a hold
   * begun beside an exclusive one, an exclusive one begun beside any, or a permit taken with every
   * permit held, is an overlap.
   */
  private static final class Witness {
    final AtomicInteger shared = new AtomicInteger();
    final AtomicInteger exclusive = new AtomicInteger();
    final AtomicInteger overlaps = new AtomicInteger();
    final AtomicInteger maxHolders = new AtomicInteger();
    final int limit;

    Witness(int limit) {
      this.limit = limit;
    }

    // Each side counts itself in before it looks at the other, so of two holders that overlap, at
    // least one sees the other.
    void enter(boolean isExclusive) {
      if (isExclusive) {
        if (exclusive.incrementAndGet() != 1 || shared.get() > 0) overlaps.incrementAndGet();
      } else {
        int holders = shared.incrementAndGet();
        if (exclusive.get() > 0 || holders > limit) overlaps.incrementAndGet();
        maxHolders.accumulateAndGet(holders, Math::max);
      }
    }

    void leave(boolean isExclusive) {
      (isExclusive ? exclusive : shared).decrementAndGet();
    }
  }

  /** One hold a session takes: acquire, a critical section that yields, release. */
  private interface Turn {
    boolean exclusive();

    void acquire() throws Exception;

    void release() throws Exception;
  }

  /** A session's handles, made on its own client; each call gives its next turn. */
  private interface Turns {
    Turn next();
  }

  private interface TurnsFactory {
    Turns open(int session, CuratorFramework client);
  }

  /**
   * K sessions taking turns at a shared resource, witnessed with at most {@code limit} shared
   * holders. Answers as the Node side's SharingSample does, in microseconds.
   */
  private String sharing(int sessions, long millis, int limit, long holdMillis, TurnsFactory factory)
      throws Exception {
    Witness witness = new Witness(limit);
    int[] counts = new int[sessions];
    List<List<Long>> waits = lists(sessions);
    List<List<Long>> writeWaits = lists(sessions);
    long elapsed =
        runSessions(
            sessions,
            millis,
            (session, client, deadline) -> {
              Turns turns = factory.open(session, client);
              while (System.nanoTime() < deadline) {
                Turn turn = turns.next();
                long t0 = System.nanoTime();
                turn.acquire();
                (turn.exclusive() ? writeWaits : waits).get(session).add((System.nanoTime() - t0) / 1000);
                witness.enter(turn.exclusive());
                // As the Node side's criticalSection: yield, or hold for holdMillis.
                if (holdMillis > 0) Thread.sleep(holdMillis);
                else Thread.yield();
                witness.leave(turn.exclusive());
                counts[session]++;
                turn.release();
              }
            });
    return "{\"elapsedMs\":" + elapsed / 1e6 + ",\"overlaps\":" + witness.overlaps.get() + ",\"maxHolders\":"
        + witness.maxHolders.get() + ",\"perSession\":" + array(counts) + ",\"waitsUs\":"
        + array(flatten(waits)) + ",\"writeWaitsUs\":" + array(flatten(writeWaits)) + "}";
  }

  private String readMostly(String path, int sessions, long millis, int seed, double writeShare)
      throws Exception {
    return sharing(
        sessions,
        millis,
        Integer.MAX_VALUE,
        0,
        (session, client) -> {
          InterProcessReadWriteLock lock = new InterProcessReadWriteLock(client, path);
          Turn read = mutexTurn(lock.readLock(), false);
          Turn write = mutexTurn(lock.writeLock(), true);
          SeededRandom random = new SeededRandom(seed + session);
          return () -> random.next() < writeShare ? write : read;
        });
  }

  private String semaphore(String path, int sessions, long millis, int permits, long holdMillis)
      throws Exception {
    return sharing(
        sessions,
        millis,
        permits,
        holdMillis,
        (session, client) -> {
          InterProcessSemaphoreV2 semaphore = new InterProcessSemaphoreV2(client, path, permits);
          Turn turn =
              new Turn() {
                private Lease lease;

                public boolean exclusive() {
                  return false;
                }

                public void acquire() throws Exception {
                  lease = semaphore.acquire();
                }

                public void release() {
                  semaphore.returnLease(lease);
                }
              };
          return () -> turn;
        });
  }

  private static Turn mutexTurn(InterProcessMutex mutex, boolean exclusive) {
    return new Turn() {
      public boolean exclusive() {
        return exclusive;
      }

      public void acquire() throws Exception {
        mutex.acquire();
      }

      public void release() throws Exception {
        mutex.release();
      }
    };
  }

  /**
   * mulberry32, bit for bit as @zk-dist-lock/testing's seededRandom: a session draws the same
   * read-mostly choices here as on the Node side.
   */
  private static final class SeededRandom {
    private int state;

    SeededRandom(int seed) {
      state = seed;
    }

    double next() {
      state += 0x6d2b79f5;
      int t = state;
      t = (t ^ (t >>> 15)) * (t | 1);
      t ^= t + (t ^ (t >>> 7)) * (t | 61);
      return ((t ^ (t >>> 14)) & 0xffffffffL) / 4294967296.0;
    }
  }

  private static List<List<Long>> lists(int count) {
    List<List<Long>> lists = new ArrayList<>();
    for (int i = 0; i < count; i++) lists.add(new ArrayList<>());
    return lists;
  }

  private static long[] flatten(List<List<Long>> lists) {
    return lists.stream().flatMap(List::stream).mapToLong(Long::longValue).toArray();
  }

  private String manyResources(String root, int resources) throws Exception {
    long start = System.nanoTime();
    for (int i = 0; i < resources; i++) {
      InterProcessMutex mutex = new InterProcessMutex(client, root + "/r" + i);
      mutex.acquire();
      mutex.release();
    }
    long elapsed = System.nanoTime() - start;
    return "{\"resources\":" + resources + ",\"elapsedMs\":" + elapsed / 1e6 + "}";
  }

  private static String array(int[] values) {
    return array(Arrays.stream(values).asLongStream().toArray());
  }

  private static String array(long[] values) {
    StringBuilder out = new StringBuilder("[");
    for (int i = 0; i < values.length; i++) out.append(i == 0 ? "" : ",").append(values[i]);
    return out.append(']').toString();
  }

  private static String quote(String text) {
    return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }
}

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * The Apache Curator side of `pnpm bench`: the same scenarios as the Node side, with Curator's
 * InterProcessMutex, the reference ZooKeeper lock.
 *
 * <p>Usage: {@code java CuratorBench <connect> [command]}. Without a command it reads commands from
 * stdin, one per line, and answers each with one JSON line; the JVM stays up between commands so
 * that its JIT is as warm as the Node side's. Commands:
 *
 * <pre>
 *   u &lt;path&gt; &lt;cycles&gt;               one client, one lock: acquire+release cycles
 *   c &lt;path&gt; &lt;sessions&gt; &lt;millis&gt;    K sessions looping on one lock for a fixed time
 *   m &lt;root&gt; &lt;resources&gt;            one client, M never-used locks, each acquired once
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

  private String contended(String path, int sessions, long millis) throws Exception {
    List<CuratorFramework> clients = new ArrayList<>();
    try {
      for (int i = 0; i < sessions; i++) clients.add(open(connect));
      AtomicInteger inside = new AtomicInteger();
      AtomicInteger overlaps = new AtomicInteger();
      // When the last holder called release(): an acquisition that began before it is a handoff.
      AtomicLong releasedAt = new AtomicLong();
      List<Long> handoffs = new ArrayList<>();
      int[] counts = new int[sessions];
      List<List<Long>> waits = new ArrayList<>();
      List<Thread> threads = new ArrayList<>();
      List<Throwable> failures = new ArrayList<>();
      long start = System.nanoTime();
      long deadline = start + millis * 1_000_000L;
      for (int i = 0; i < sessions; i++) {
        int session = i;
        List<Long> own = new ArrayList<>();
        waits.add(own);
        InterProcessMutex mutex = new InterProcessMutex(clients.get(i), path);
        Thread thread =
            new Thread(
                () -> {
                  try {
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
      if (!failures.isEmpty()) throw new IllegalStateException(failures.get(0).toString(), failures.get(0));
      List<Long> all = new ArrayList<>();
      for (List<Long> own : waits) all.addAll(own);
      long[] flat = all.stream().mapToLong(Long::longValue).toArray();
      StringBuilder perSession = new StringBuilder("[");
      for (int i = 0; i < sessions; i++) perSession.append(i == 0 ? "" : ",").append(counts[i]);
      perSession.append(']');
      return "{\"elapsedMs\":" + elapsed / 1e6 + ",\"overlaps\":" + overlaps.get() + ",\"perSession\":"
          + perSession + ",\"waitsUs\":" + array(flat) + ",\"handoffsUs\":"
          + array(handoffs.stream().mapToLong(Long::longValue).toArray()) + "}";
    } finally {
      for (CuratorFramework c : clients) c.close();
    }
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

  private static String array(long[] values) {
    StringBuilder out = new StringBuilder("[");
    for (int i = 0; i < values.length; i++) out.append(i == 0 ? "" : ",").append(values[i]);
    return out.append(']').toString();
  }

  private static String quote(String text) {
    return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }
}

using System.Net;
using System.Net.Sockets;
using Worker.Benchmarks.Reporting;
using Worker.Benchmarks.Scenarios;

namespace Worker.Benchmarks.Harness;

/// <summary>
/// What every scenario shares: the simulator process (one for the whole run), the broker connection, where the built
/// dlls and the services are, and how a worker process is configured and started.
/// </summary>
public sealed class BenchContext : IAsyncDisposable
{
    private readonly HashSet<int> _ownPids = [];
    private readonly List<string> _workerLogs = [];

    private BenchContext(BenchOptions options, string repoRoot, string rabbitMq, string postgres)
    {
        Options = options;
        RepoRoot = repoRoot;
        RabbitMq = rabbitMq;
        Postgres = postgres;
        LogDirectory = Path.Combine(repoRoot, ".run", "bench");
    }

    public BenchOptions Options { get; }

    public Sizes Sizes => Options.Sizes;

    public string RepoRoot { get; }

    /// <summary>Where each process's log goes: .run/bench/{scenario}-worker.log and so on.</summary>
    public string LogDirectory { get; }

    public string RabbitMq { get; }

    public string Postgres { get; }

    public Broker Broker { get; private set; } = null!;

    public SimulatorAdmin Simulator { get; private set; } = null!;

    public ServiceProcess SimulatorProcess { get; private set; } = null!;

    public static async Task<BenchContext> StartAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var context = new BenchContext(options, FindRepoRoot(),
            Environment.GetEnvironmentVariable("ConnectionStrings__RabbitMq") ?? "amqp://guest:guest@localhost:5672/worker-bench",
            Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") ?? "Host=localhost;Database=llm_worker_bench;Username=worker;Password=worker");
        Directory.CreateDirectory(context.LogDirectory);
        var url = new Uri($"http://127.0.0.1:{FreePort()}/");
        context.SimulatorProcess = ServiceProcess.Start("simulator", context.Dll("src/Worker.Simulator", "Worker.Simulator"), ["--urls", url.ToString().TrimEnd('/')],
            new Dictionary<string, string>(), Path.Combine(context.LogDirectory, "simulator.log"));
        context._ownPids.Add(context.SimulatorProcess.Id);
        context.Simulator = new SimulatorAdmin(url);
        try
        {
            for (var i = 0; !await context.Simulator.IsUpAsync(cancellationToken); i++)
            {
                if (i > 300 || context.SimulatorProcess.HasExited)
                    throw new InvalidOperationException($"The simulator did not start:\n{context.SimulatorProcess.Tail()}");
                await Task.Delay(100, cancellationToken);
            }

            context.Broker = await Broker.ConnectAsync(context.RabbitMq, cancellationToken);
            return context;
        }
        catch
        {
            await context.DisposeAsync();
            throw;
        }
    }

    /// <summary>Processes this run started: they are not "competing load".</summary>
    public IReadOnlyCollection<int> OwnPids => _ownPids;

    /// <summary>
    /// The worker's environment: the benchmark's broker, database and simulator, fake keys, full audit, a short stop
    /// timeout; then the scenario's own settings on top (which the report lists).
    /// </summary>
    public Dictionary<string, string> WorkerEnvironment(IReadOnlyDictionary<string, string> scenario)
    {
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = RabbitMq,
            ["ConnectionStrings__Postgres"] = Postgres,
            ["Providers__gemini__BaseUrl"] = new Uri(Simulator.BaseAddress, "gemini").ToString(),
            ["Providers__openai__BaseUrl"] = new Uri(Simulator.BaseAddress, "openai/v1").ToString(),
            ["GEMINI_API_KEY"] = "bench-fake-gemini-key",
            ["OPENAI_API_KEY"] = "bench-fake-openai-key",
            ["Audit__PromptStorage"] = "Full",
            // Scenarios end with nothing in flight; a stuck one should not hold the run for the default minute.
            ["Messaging__StopTimeout"] = "00:00:05",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };
        foreach (var (key, value) in scenario)
            environment[key] = value;
        foreach (var (key, value) in Options.WorkerEnvironment)
            environment[key] = value;
        return environment;
    }

    /// <summary>
    /// Starts the Release worker; with <paramref name="waitUntilConsuming"/>, returns once it is ready and the request queue
    /// has <paramref name="consumers"/> consumers (more than one when several instances are started one after another).
    /// </summary>
    public async Task<ServiceProcess> StartWorkerAsync(string scenario, IReadOnlyDictionary<string, string> settings, bool waitUntilConsuming,
        CancellationToken cancellationToken, int consumers = 1)
    {
        var url = $"http://127.0.0.1:{FreePort()}";
        var environment = WorkerEnvironment(settings);
        environment["ASPNETCORE_URLS"] = url;
        var worker = ServiceProcess.Start("worker", Dll("src/Worker", "Worker"), [], environment, Path.Combine(LogDirectory, $"{scenario}-worker.log"));
        _ownPids.Add(worker.Id);
        _workerLogs.Add(worker.LogPath);
        if (!waitUntilConsuming)
            return worker;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var until = Clock.Now + 90;
        while (true)
        {
            if (worker.HasExited)
                throw new InvalidOperationException($"The worker exited at start:\n{worker.Tail()}");
            if (Clock.Now > until)
                throw new TimeoutException($"The worker was not ready within 90 s:\n{worker.Tail()}");
            try
            {
                if ((await http.GetAsync($"{url}/health/ready", cancellationToken)).IsSuccessStatusCode &&
                    (await Broker.DepthAsync(Broker.WorkerQueue, cancellationToken)).Consumers >= consumers)
                    return worker;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>The bare echo consumer: this tool's own dll in echo mode, a separate process like the worker.</summary>
    public ServiceProcess StartEcho(int concurrency, int prefetch)
    {
        var echo = ServiceProcess.Start("echo", typeof(BenchContext).Assembly.Location, ["echo"], new Dictionary<string, string>
        {
            ["ConnectionStrings__RabbitMq"] = RabbitMq,
            ["Echo__Queue"] = Broker.EchoQueue,
            ["Echo__ConcurrencyLimit"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Echo__PrefetchCount"] = prefetch.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, Path.Combine(LogDirectory, "drain-echo.log"));
        _ownPids.Add(echo.Id);
        return echo;
    }

    /// <summary>Runs one scenario within its time limit, from a clean slate, recording what the machine did meanwhile.</summary>
    public async Task<ScenarioResult> RunAsync(IScenario scenario, CancellationToken cancellationToken)
    {
        var result = new ScenarioResult(scenario.Name, scenario.Title) { LoadBefore = Machine.LoadAverage() };
        var started = Clock.Now;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(scenario.TimeLimit(Sizes));
        using var watching = new CancellationTokenSource();
        var watcher = WatchCompetitorsAsync(result, watching.Token);
        _workerLogs.Clear();
        try
        {
            await ReconnectIfClosedAsync(limit.Token);
            Broker.Current = null;
            await Simulator.ResetAsync(limit.Token);
            foreach (var queue in new[] { Broker.WorkerQueue, Broker.ResultsQueue, Broker.EchoQueue })
                await Broker.PurgeAsync(queue, limit.Token);
            await scenario.RunAsync(this, result, limit.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            result.Error = e is OperationCanceledException ? $"over its time limit of {scenario.TimeLimit(Sizes).TotalSeconds:0} s" : $"{e.GetType().Name}: {e.Message}";
            result.ConnectionLost = Broker.IsConnectionLoss(e) || !Broker.IsOpen;
            Console.Error.WriteLine($"    {scenario.Name} failed: {e}");
        }
        finally
        {
            Broker.Current = null;
            await watching.CancelAsync();
            await watcher;
            result.Seconds = Clock.Now - started;
            result.LoadAfter = Machine.LoadAverage();
            ReportDatabaseTrouble(result);
        }

        return result;
    }

    /// <summary>After RabbitMQ was restarted under us: a new connection, waiting up to a minute for the broker to be back.</summary>
    private async Task ReconnectIfClosedAsync(CancellationToken cancellationToken)
    {
        if (Broker.IsOpen)
            return;
        await Broker.DisposeAsync();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Broker = await Broker.ConnectAsync(RabbitMq, cancellationToken);
                return;
            }
            catch (Exception e) when (Broker.IsConnectionLoss(e) && attempt < 30)
            {
                await Task.Delay(2000, cancellationToken);
            }
        }
    }

    /// <summary>What the worker's log says went wrong with PostgreSQL: the usual cause of a collapse under load.</summary>
    private void ReportDatabaseTrouble(ScenarioResult result)
    {
        var lines = _workerLogs.Where(File.Exists).SelectMany(File.ReadLines).ToList();
        var trouble = new (string Label, string Needle)[]
        {
            ("audit writes retried (worker log)", "Worker.Persistence.WriteRetry"),
            ("of which: pool exhausted (waited 15 s for a connection)", "connection pool has been exhausted"),
            ("of which: refused by PostgreSQL (max_connections)", "53300"),
        };
        foreach (var (label, needle) in trouble)
        {
            var count = lines.Count(l => l.Contains(needle, StringComparison.Ordinal) && l.Contains("WriteRetry", StringComparison.Ordinal));
            if (count > 0)
                result.Figure(label, count);
        }
    }

    private async Task WatchCompetitorsAsync(ScenarioResult result, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                foreach (var competitor in Machine.Competitors(_ownPids).Where(c => !result.Concurrent.Contains(c)))
                    result.Concurrent.Add(competitor);
                await Task.Delay(2000, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // The scenario ended.
        }
    }

    private string Dll(string project, string name) => Path.Combine(RepoRoot, project, "bin", "Release", "net10.0", name + ".dll");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Worker.sln")))
                return dir.FullName;
        }

        throw new InvalidOperationException("Worker.sln not found above the tool's directory: run it from the repository (ops/bench.sh)");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (Broker is not null)
            await Broker.DisposeAsync();
        await SimulatorProcess.DisposeAsync();
        Simulator.Dispose();
    }
}

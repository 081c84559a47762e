using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// The worker as a separate OS process (<c>dotnet Worker.dll</c>, configured through its environment only), so a test
/// can kill it with SIGKILL or stop it with SIGTERM as an orchestrator would. Every stdout and stderr line is kept.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private static readonly ConcurrentDictionary<WorkerProcess, byte> Live = new();
    private readonly ConcurrentQueue<string> _output = new();
    private int _disposed;

    private WorkerProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Every line the process wrote to stdout and stderr so far.</summary>
    public IReadOnlyList<string> Output => [.. _output];

    /// <summary>
    /// Starts the worker built beside the tests (the test project references it, so its binary, deps and appsettings.json
    /// are in the test output) with <paramref name="environment"/> on top of this process's environment. A null value
    /// removes the variable, so a key exported by the CI never leaks into a test that means to run without it.
    /// </summary>
    public static async Task<WorkerProcess> StartAsync(IReadOnlyDictionary<string, string?> environment, TimeSpan? readyWithin = null)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Worker.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            var name = key.Replace(":", "__", StringComparison.Ordinal);
            if (value is null)
                start.Environment.Remove(name);
            else
                start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var worker = new WorkerProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        process.OutputDataReceived += (_, e) => worker.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Keep(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException("dotnet Worker.dll did not start");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Live[worker] = 0;
        if (WorkerProcessScope.Current is { } scope && !scope.TryAdopt(worker))
        {
            await worker.DisposeAsync();
            throw new OperationCanceledException("The scenario that started this worker had already ended (it ran out of time): the worker was killed.");
        }

        try
        {
            await worker.WaitReadyAsync(readyWithin ?? TimeSpan.FromSeconds(60));
        }
        catch
        {
            // A worker that never became ready still consumes, or soon will: it must not outlive the failed start.
            await worker.DisposeAsync();
            throw;
        }

        return worker;
    }

    /// <summary>
    /// Kills every worker process still running and returns how many there were: the safety net at the end of a fixture,
    /// for a test that lost track of one (a worker left running consumes the shared request queue, with that test's
    /// configuration and a simulator that is gone, in the middle of every later test).
    /// </summary>
    public static async Task<int> KillStraysAsync()
    {
        var strays = Live.Keys.ToList();
        foreach (var worker in strays)
            await worker.DisposeAsync();
        return strays.Count;
    }

    /// <summary>Waits for /health/ready: connected to RabbitMQ and PostgreSQL.</summary>
    public async Task WaitReadyAsync(TimeSpan within)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var (ready, _) = await Eventually.PollAsync(async () =>
        {
            if (_process.HasExited)
            {
                // Without a timeout this also waits for the last lines of stdout and stderr, which the message shows.
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"The worker exited with {_process.ExitCode} before it was ready:\n{Tail()}");
            }

            try
            {
                using var response = await http.GetAsync("/health/ready");
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false; // Not listening yet.
            }
        }, ok => ok, within);
        if (!ready)
        {
            throw new TimeoutException($"The worker was not ready within {within}:\n{Tail()}");
        }
    }

    /// <summary>SIGKILL: no shutdown, no acknowledgement, nothing flushed. The broker requeues what it had delivered.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGTERM, as an orchestrator stops a container; returns how long the process took to exit.</summary>
    public async Task<TimeSpan> TerminateAsync(TimeSpan within)
    {
        var watch = Stopwatch.StartNew();
        await SignalTerminateAsync();
        await WaitForExitAsync(within);
        return watch.Elapsed;
    }

    /// <summary>Sends SIGTERM and returns at once: the process is stopping.</summary>
    public async Task SignalTerminateAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    public Task WaitForExitAsync(TimeSpan within) => _process.WaitForExitAsync().WaitAsync(within);

    /// <summary>
    /// Writes every line to <c>.run/worker-&lt;pid&gt;.log</c> beside the test results (ops/test.sh's run directory), for a
    /// failure to be read in full; returns the path.
    /// </summary>
    public string SaveOutput()
    {
        var directory = Path.Combine(RepositoryRoot() ?? Path.GetTempPath(), ".run");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"worker-{_process.Id}.log");
        File.WriteAllLines(path, _output);
        return path;
    }

    private static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Worker.sln")))
                return dir.FullName;
        }

        return null;
    }

    /// <summary>The last lines of output, for failure messages.</summary>
    public string Tail(int lines = 40) => $"(all of it in {SaveOutput()})\n" + string.Join('\n', _output.TakeLast(lines));

    private void Keep(string? line)
    {
        if (line is not null)
            _output.Enqueue(line);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        // Disposed by its test and again by its scenario's scope: the second time is a no-op.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        Live.TryRemove(this, out _);

        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started, or already gone.
        }

        _process.Dispose();
    }
}

using System.Diagnostics;
using System.Runtime.InteropServices;
using Worker.Benchmarks.Reporting;

namespace Worker.Benchmarks.Harness;

/// <summary>
/// A built Release dll (worker, simulator, the bare echo) run as its own process, configured only through environment
/// variables, its output in a log file. Its peak working set is the kernel's high-water mark (VmHWM), read before it stops.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private readonly Process _process;

    private readonly Task _output;

    private ServiceProcess(string name, Process process, string logPath)
    {
        Name = name;
        _process = process;
        LogPath = logPath;
        // Both streams copied as bytes into one log file: no shell in between (a shell would drop variables such as
        // Chains__fallback-only__0__Provider, whose names are not shell identifiers) and no per-line work here.
        var log = new FileStream(logPath, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, 1, useAsync: false);
        var gate = new SemaphoreSlim(1);
        _output = Task.WhenAll(Copy(process.StandardOutput.BaseStream), Copy(process.StandardError.BaseStream))
            .ContinueWith(_ => log.Dispose(), TaskScheduler.Default);

        async Task Copy(Stream from)
        {
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await from.ReadAsync(buffer)) > 0)
            {
                await gate.WaitAsync();
                try
                {
                    log.Write(buffer, 0, read);
                }
                finally
                {
                    gate.Release();
                }
            }
        }
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Peak resident set so far, in bytes (0 once the process is gone).</summary>
    public long PeakWorkingSet => Status("VmHWM") * 1024;

    /// <param name="environment">Set on top of the parent's environment, from which configuration overrides are first removed.</param>
    public static ServiceProcess Start(string name, string dll, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, string logPath)
    {
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{dll} is missing: build it first (ops/bench.sh does)", dll);
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        // Whatever the caller's shell exported (Messaging__..., ASPNETCORE_URLS, API keys) must not leak into a scenario.
        foreach (var key in start.Environment.Keys.Where(k => k.Contains("__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) ||
                                                              k.EndsWith("_API_KEY", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        return new ServiceProcess(name, Process.Start(start)!, logPath);
    }

    /// <summary>SIGTERM, then SIGKILL when it has not exited within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
            return;
        _ = Kill(_process.Id, SigTerm);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>The last lines of its log, for an error message.</summary>
    public string Tail(int lines = 15)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return string.Join('\n', reader.ReadToEnd().Split('\n').TakeLast(lines));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    private long Status(string key)
    {
        try
        {
            return _process.HasExited ? 0 : Machine.ProcKilobytes($"/proc/{_process.Id}/status", key);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(15));
        await _output;
        _process.Dispose();
    }

    // DllImport rather than LibraryImport: the generated stub would need unsafe code for this one blittable call.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
#pragma warning restore SYSLIB1054
}

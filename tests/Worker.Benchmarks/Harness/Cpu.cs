using System.Globalization;

namespace Worker.Benchmarks.Harness;

/// <summary>CPU time from /proc: how busy the machine was, and what one process spent. Explains a missed target.</summary>
public readonly record struct CpuSample(long Busy, long Total)
{
    // USER_HZ, 100 on every Linux this runs on.
    private const double TicksPerSecond = 100;

    /// <summary>The machine's counters since boot (all cores).</summary>
    public static CpuSample Machine()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal (guest time is already inside user).
        var total = fields.Take(8).Sum();
        return new CpuSample(total - fields[3] - fields[4], total);
    }

    /// <summary>Share of all cores that was busy between two samples, in percent.</summary>
    public static double BusyPercent(CpuSample from, CpuSample to) =>
        to.Total == from.Total ? double.NaN : 100.0 * (to.Busy - from.Busy) / (to.Total - from.Total);

    /// <summary>User plus system CPU seconds a process has used; 0 when it is gone.</summary>
    public static double ProcessSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name may hold spaces; the fields after it are fixed. utime and stime are fields 14 and 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>CPU seconds of every PostgreSQL and RabbitMQ process (the services the worker leans on), by name.</summary>
    public static (double Postgres, double RabbitMq) Services()
    {
        double postgres = 0, rabbit = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            string comm;
            try
            {
                comm = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
            }
            catch (IOException)
            {
                continue;
            }

            if (comm.StartsWith("postgres", StringComparison.Ordinal))
                postgres += ProcessSeconds(pid);
            else if (comm.StartsWith("beam", StringComparison.Ordinal))
                rabbit += ProcessSeconds(pid);
        }

        return (postgres, rabbit);
    }
}

/// <summary>
/// Where the cores went over a window, per request: the worker (or echo), the simulator, PostgreSQL, RabbitMQ and this
/// tool (the load generator). Explains a missed target: a saturated machine, or one component's appetite.
/// </summary>
public sealed class CpuWindow
{
    private readonly IReadOnlyList<int> _processes;
    private readonly int _simulator;
    private readonly CpuSample _machine = CpuSample.Machine();
    private readonly (double Postgres, double RabbitMq) _services = CpuSample.Services();
    private readonly double _processSeconds;
    private readonly double _simulatorSeconds;
    private readonly double _ownSeconds = CpuSample.ProcessSeconds(Environment.ProcessId);

    public CpuWindow(int process, int simulator)
        : this([process], simulator)
    {
    }

    /// <summary>Several worker processes counted as one (the scale scenario's instances).</summary>
    public CpuWindow(IReadOnlyList<int> processes, int simulator)
    {
        _processes = processes;
        _simulator = simulator;
        _processSeconds = processes.Sum(CpuSample.ProcessSeconds);
        _simulatorSeconds = CpuSample.ProcessSeconds(simulator);
    }

    /// <summary>Machine busy percent, then CPU milliseconds per request for each part.</summary>
    public CpuUse Stop(int requests)
    {
        var services = CpuSample.Services();
        var perRequest = requests > 0 ? 1000.0 / requests : double.NaN;
        // A PostgreSQL backend that exited inside the window takes its CPU time with it: never below zero.
        double Ms(double seconds) => Math.Max(0, seconds) * perRequest;
        return new CpuUse(
            CpuSample.BusyPercent(_machine, CpuSample.Machine()),
            Ms(_processes.Sum(CpuSample.ProcessSeconds) - _processSeconds),
            Ms(CpuSample.ProcessSeconds(_simulator) - _simulatorSeconds),
            Ms(services.Postgres - _services.Postgres),
            Ms(services.RabbitMq - _services.RabbitMq),
            Ms(CpuSample.ProcessSeconds(Environment.ProcessId) - _ownSeconds));
    }
}

public sealed record CpuUse(double MachineBusyPercent, double ProcessMs, double SimulatorMs, double PostgresMs, double RabbitMqMs, double LoadGeneratorMs)
{
    /// <summary>
    /// The rate these processes' CPU per request allows on this machine's cores, kernel time (loopback networking) aside:
    /// an upper bound no configuration of the worker can beat here.
    /// </summary>
    public double CeilingPerSecond => Environment.ProcessorCount * 1000 / (ProcessMs + SimulatorMs + PostgresMs + RabbitMqMs + LoadGeneratorMs);

    /// <summary>Adds the figures, the process named <paramref name="process"/> (worker, bare echo).</summary>
    public void Report(Reporting.ScenarioResult result, string process = "worker", string? when = null)
    {
        var suffix = when is null ? "" : $" ({when})";
        result.Figure($"machine CPU busy{suffix}", MachineBusyPercent, "%");
        result.Figure($"CPU per request{suffix}: {process}", ProcessMs, "ms");
        result.Figure("simulator", SimulatorMs, "ms");
        result.Figure("PostgreSQL", PostgresMs, "ms");
        result.Figure("RabbitMQ", RabbitMqMs, "ms");
        result.Figure("load generator", LoadGeneratorMs, "ms");
        result.Figure($"CPU-bound ceiling{suffix}", CeilingPerSecond, "/s");
    }
}

using System.Globalization;
using System.Runtime.InteropServices;

namespace Worker.Benchmarks.Reporting;

/// <summary>What the figures were measured on: they mean little without it.</summary>
public sealed record Machine(int Cores, string Cpu, double MemoryGiB, string Os, string Kernel, string Dotnet, string RabbitMq, string Postgres)
{
    public static Machine Describe(string rabbitMqVersion, string postgresVersion) => new(
        Environment.ProcessorCount,
        ProcValue("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
        Math.Round(ProcKilobytes("/proc/meminfo", "MemTotal") / 1024.0 / 1024.0, 1),
        OsName(),
        File.Exists("/proc/sys/kernel/osrelease") ? "Linux " + File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        rabbitMqVersion,
        postgresVersion);

    public string Summary =>
        $"{Cores} cores ({Cpu}), {MemoryGiB:0.#} GiB memory, {Os} ({Kernel}), {Dotnet}, RabbitMQ {RabbitMq}, PostgreSQL {Postgres}";

    /// <summary>The 1-minute load average.</summary>
    public static double LoadAverage()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>
    /// Other processes that compete for the two cores: test hosts, builds, another worker. The benchmark's own
    /// children are excluded by pid.
    /// </summary>
    public static List<string> Competitors(IReadOnlyCollection<int> ours)
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId || ours.Contains(pid))
                continue;
            string commandLine;
            try
            {
                commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            if (commandLine.Contains("testhost", StringComparison.Ordinal) || commandLine.Contains("vstest", StringComparison.Ordinal))
                found.Add("a test run (testhost)");
            else if (commandLine.Contains("MSBuild.dll", StringComparison.Ordinal) || commandLine.Contains("/csc ", StringComparison.Ordinal) ||
                     commandLine.Contains(" build ", StringComparison.Ordinal))
                found.Add("a build (MSBuild/csc)");
            else if (commandLine.EndsWith("Worker.dll", StringComparison.Ordinal) || commandLine.Contains("Worker.Simulator.dll", StringComparison.Ordinal))
                found.Add("another worker or simulator");
        }

        return [.. found];
    }

    private static string OsName() =>
        File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?["PRETTY_NAME=".Length..].Trim('"') ?? "Linux"
            : RuntimeInformation.OSDescription;

    private static string? ProcValue(string file, string key) =>
        File.Exists(file)
            ? File.ReadLines(file).Where(l => l.StartsWith(key, StringComparison.Ordinal)).Select(l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim()).FirstOrDefault()
            : null;

    internal static long ProcKilobytes(string file, string key)
    {
        var value = ProcValue(file, key + ":");
        return value is null ? 0 : long.Parse(value.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
    }
}

using System.Diagnostics;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>Runs <c>service NAME VERB</c> for the locally installed services (the tests run as root, as ops/test.sh does on CI).</summary>
public static class ServiceControl
{
    /// <summary>
    /// Output goes to a file, not to a pipe: a daemon the init script starts inherits its output, and a pipe it holds open
    /// would keep the wait for the script's end from ever finishing.
    /// </summary>
    public static Task RunAsync(string service, string verb, TimeSpan within) => ShellAsync($"service {service} {verb}", within);

    /// <summary>Runs a shell command as root with its output in a file (see <see cref="RunAsync"/>); throws if it fails.</summary>
    public static async Task ShellAsync(string command, TimeSpan within)
    {
        var log = Path.Combine(Path.GetTempPath(), $"service-{Guid.NewGuid():N}.log");
        using var process = Process.Start(new ProcessStartInfo("bash", ["-c", $"{command} >'{log}' 2>&1 </dev/null"]))
            ?? throw new InvalidOperationException($"cannot run `{command}`");
        try
        {
            await process.WaitForExitAsync().WaitAsync(within);
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"`{command}` exited with {process.ExitCode}: {await File.ReadAllTextAsync(log)}");
        }
        finally
        {
            File.Delete(log);
        }
    }
}

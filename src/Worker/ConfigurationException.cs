using Microsoft.Extensions.Options;

namespace Worker;

/// <summary>Bad configuration: the message names the key and how to fix it, and never contains a secret.</summary>
public sealed class ConfigurationException(string message) : Exception(message);

/// <summary>What Program.cs prints (and exits 2 on) when the worker cannot start because of its configuration.</summary>
public static class ConfigurationProblems
{
    // The configuration binder's message when a value does not convert ("30s" for a TimeSpan); it names the key, not the value.
    private const string BinderFailure = "Failed to convert configuration value";

    /// <summary>The problems <paramref name="e"/> reports, each naming its key; empty when it is not a configuration problem.</summary>
    public static List<string> Of(Exception e) => e switch
    {
        OptionsValidationException v => [.. v.Failures],
        ConfigurationException c => [c.Message],
        InvalidOperationException b when b.Message.StartsWith(BinderFailure, StringComparison.Ordinal) =>
            [b.Message.Contains(nameof(TimeSpan), StringComparison.Ordinal)
                ? $"{b.Message} Durations are written 00:00:30 (30 s), 00:05:00 (5 min) or 1.00:00:00 (1 day)."
                : b.Message],
        AggregateException a when a.InnerExceptions.All(i => Of(i).Count > 0) => [.. a.InnerExceptions.SelectMany(Of)],
        _ => [],
    };
}

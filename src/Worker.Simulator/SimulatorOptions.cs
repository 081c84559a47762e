using Worker.Simulator.Faults;
using Microsoft.Extensions.Options;

namespace Worker.Simulator;

/// <summary>The <c>Simulator</c> configuration section: fault profiles in force from start.</summary>
public sealed class SimulatorOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Simulator";

    /// <summary>
    /// Profile per target, e.g. <c>Simulator:Targets:gemini:Always=503</c> (env <c>Simulator__Targets__gemini__Always</c>),
    /// <c>Simulator:Targets:openai:Script:0=429</c>, <c>Simulator:Targets:gemini:Rates:hang=0.1</c>.
    /// Outage windows configured here start when the host is built.
    /// </summary>
    public Dictionary<string, FaultProfile> Targets { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>Stops the host at start on a bad profile, naming the configuration key.</summary>
internal sealed class SimulatorOptionsValidator : IValidateOptions<SimulatorOptions>
{
    public ValidateOptionsResult Validate(string? name, SimulatorOptions options)
    {
        var failures =
            from target in options.Targets
            where target.Value is not null
            from error in target.Value.Validate()
            select $"{SimulatorOptions.Section}:Targets:{target.Key}:{ConfigurationKey(error.Key)}: {error.Value[0]}";
        var list = failures.ToList();
        return list.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(list);
    }

    // "script[1]" -> "Script:1", "rates.hang" -> "Rates:hang": the spelling of the key that must be fixed.
    private static string ConfigurationKey(string field) =>
        char.ToUpperInvariant(field[0]) + field[1..].Replace("[", ":", StringComparison.Ordinal).Replace("]", "", StringComparison.Ordinal).Replace(".", ":", StringComparison.Ordinal);
}

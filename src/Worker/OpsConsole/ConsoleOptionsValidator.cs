using Microsoft.Extensions.Options;

namespace Worker.OpsConsole;

/// <summary>Checks the <c>Console</c> section at start; every message names the key to fix.</summary>
public sealed class ConsoleOptionsValidator(IConfiguration configuration) : IValidateOptions<ConsoleOptions>
{
    private const string Prefix = $"{ConsoleOptions.Section}:{nameof(ConsoleOptions.Targets)}";

    public ValidateOptionsResult Validate(string? name, ConsoleOptions options)
    {
        var t = options.Targets;
        var problems = new OptionProblems();
        Share(problems, nameof(ConsoleTargets.Availability), t.Availability);
        Share(problems, nameof(ConsoleTargets.AvailabilityAmber), t.AvailabilityAmber);
        problems.Check(t.AvailabilityAmber <= t.Availability, Key(nameof(ConsoleTargets.AvailabilityAmber)),
            $"must be at most {Key(nameof(ConsoleTargets.Availability))} ({t.Availability}): amber lies below the target, was {t.AvailabilityAmber}");
        Share(problems, nameof(ConsoleTargets.FallbackRate), t.FallbackRate);
        Share(problems, nameof(ConsoleTargets.FallbackRateAmber), t.FallbackRateAmber);
        Above(problems, nameof(ConsoleTargets.FallbackRateAmber), t.FallbackRateAmber, nameof(ConsoleTargets.FallbackRate), t.FallbackRate);
        Positive(problems, nameof(ConsoleTargets.MttrSeconds), t.MttrSeconds);
        Above(problems, nameof(ConsoleTargets.MttrAmberSeconds), t.MttrAmberSeconds, nameof(ConsoleTargets.MttrSeconds), t.MttrSeconds);
        Positive(problems, nameof(ConsoleTargets.P95Seconds), t.P95Seconds);
        Above(problems, nameof(ConsoleTargets.P95AmberSeconds), t.P95AmberSeconds, nameof(ConsoleTargets.P95Seconds), t.P95Seconds);
        problems.Check(t.CostUsd is null or > 0, Key(nameof(ConsoleTargets.CostUsd)), $"must be above 0 or empty (no target), was {t.CostUsd}");
        problems.Check(t.CostAmberUsd is null || (t.CostUsd is { } cost && t.CostAmberUsd >= cost), Key(nameof(ConsoleTargets.CostAmberUsd)),
            $"must be empty, or at least {Key(nameof(ConsoleTargets.CostUsd))} (which must then be set), was {t.CostAmberUsd}");

        var section = configuration.GetSection(ConsoleOptions.Section);
        problems.UnknownSettings(section, typeof(ConsoleOptions));
        problems.UnknownSettings(section.GetSection(nameof(ConsoleOptions.Targets)), typeof(ConsoleTargets));
        return problems.Result();
    }

    private static string Key(string property) => $"{Prefix}:{property}";

    private static void Share(OptionProblems problems, string property, double value) =>
        problems.Check(value is >= 0 and <= 1, Key(property), $"must be a share between 0 and 1 (0.999 is 99.9 %), was {value}");

    private static void Positive(OptionProblems problems, string property, double value) =>
        problems.Check(value > 0, Key(property), $"must be above 0 seconds, was {value}");

    private static void Above(OptionProblems problems, string property, double value, string targetProperty, double target) =>
        problems.Check(value >= target, Key(property), $"must be at least {Key(targetProperty)} ({target}): amber lies above the target, was {value}");
}

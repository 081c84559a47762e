using Microsoft.Extensions.Options;
using Worker.Providers;

namespace Worker.Chain;

/// <summary>The configured chains, resolved once at start into the steps the runner walks.</summary>
public sealed class ChainCatalog
{
    private readonly Dictionary<string, IReadOnlyList<ChainStep>> _chains;

    public ChainCatalog(IOptions<ChainsOptions> chains, IOptions<ProvidersOptions> providers)
    {
        _chains = new(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, steps) in chains.Value)
        {
            _chains[name] = steps
                .Select((s, i) => new ChainStep(i, s.Provider, s.Model, s.MaxRetries, s.BaseDelay, s.MaxDelay, s.JitterRatio,
                    s.MaxRetryAfter, s.Timeout ?? (providers.Value.TryGetValue(s.Provider, out var p) ? p.Timeout : TimeSpan.FromSeconds(60)))
                {
                    MinTimeToAnswer = s.MinTimeToAnswer,
                })
                .ToList();
        }
    }

    public IReadOnlyCollection<string> Names => _chains.Keys;

    public bool TryGet(string? name, out IReadOnlyList<ChainStep> steps) =>
        _chains.TryGetValue(name ?? ChainsOptions.DefaultChain, out steps!);
}

/// <summary>Checks the <c>Chains</c> section at start; every message names the key to fix.</summary>
public sealed class ChainsOptionsValidator(IOptions<ProvidersOptions> providers) : IValidateOptions<ChainsOptions>
{
    public ValidateOptionsResult Validate(string? name, ChainsOptions options)
    {
        var errors = new List<string>();
        ProvidersOptions? configured;
        try
        {
            configured = providers.Value;
        }
        catch (OptionsValidationException)
        {
            // The Providers section reports its own problems; step providers cannot be checked against it.
            configured = null;
        }

        if (!options.ContainsKey(ChainsOptions.DefaultChain))
        {
            errors.Add($"Chains:{ChainsOptions.DefaultChain} is missing: requests that name no chain use it (env Chains__default__0__Provider, Chains__default__0__Model)");
        }

        foreach (var (chain, steps) in options)
        {
            if (steps.Count == 0)
            {
                errors.Add($"Chains:{chain} has no steps");
            }

            for (var i = 0; i < steps.Count; i++)
            {
                var key = $"Chains:{chain}:{i}";
                var env = $"Chains__{chain}__{i}";
                var step = steps[i];
                if (string.IsNullOrWhiteSpace(step.Provider))
                {
                    errors.Add($"{key}:Provider is required (env {env}__Provider)");
                }
                else if (configured is not null && !configured.ContainsKey(step.Provider))
                {
                    errors.Add($"{key}:Provider '{step.Provider}' is not a configured provider; configured: {string.Join(", ", configured.Keys)} (env {env}__Provider)");
                }

                if (string.IsNullOrWhiteSpace(step.Model))
                {
                    errors.Add($"{key}:Model is required (env {env}__Model)");
                }

                if (step.MaxRetries is < 0 or > 10)
                {
                    errors.Add($"{key}:MaxRetries must be between 0 and 10, was {step.MaxRetries}");
                }

                if (step.BaseDelay < TimeSpan.Zero || step.MaxDelay < step.BaseDelay)
                {
                    errors.Add($"{key}: BaseDelay must be positive and not above MaxDelay ({step.BaseDelay} > {step.MaxDelay})");
                }

                if (step.JitterRatio is < 0 or > 1)
                {
                    errors.Add($"{key}:JitterRatio must be between 0 and 1, was {step.JitterRatio}");
                }

                if (step.Timeout is { } t && t <= TimeSpan.Zero)
                {
                    errors.Add($"{key}:Timeout must be positive, was {t}");
                }

                if (step.MinTimeToAnswer < TimeSpan.Zero)
                {
                    errors.Add($"{key}:MinTimeToAnswer must not be negative, was {step.MinTimeToAnswer} (env {env}__MinTimeToAnswer)");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

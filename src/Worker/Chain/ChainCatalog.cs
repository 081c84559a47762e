using Microsoft.Extensions.Options;
using Worker.ProviderHealth;
using Worker.Providers;

namespace Worker.Chain;

/// <summary>
/// The configured chains, resolved once at start into the steps the runner walks; their providers and models are what
/// ProviderHealth watches.
/// </summary>
public sealed class ChainCatalog : IMonitoredModels
{
    private readonly Dictionary<string, IReadOnlyList<ChainStep>> _chains;

    private readonly ProvidersOptions _providers;

    public ChainCatalog(IOptions<ChainsOptions> chains, IOptions<ProvidersOptions> providers)
    {
        _providers = providers.Value;
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

        Models = [.. _chains.Values.SelectMany(steps => steps).Select(step => new ProviderModel(step.Provider, step.Model)).Distinct()];
    }

    public IReadOnlyCollection<string> Names => _chains.Keys;

    /// <summary>Every distinct provider and model of the configured chains, in chain order.</summary>
    public IReadOnlyList<ProviderModel> Models { get; }

    public bool TryGet(string? name, out IReadOnlyList<ChainStep> steps) =>
        _chains.TryGetValue(name ?? ChainsOptions.DefaultChain, out steps!);

    /// <summary>
    /// A step with the default settings (<see cref="ChainStepOptions"/>) for a provider and model no chain lists: what a
    /// request's forced <c>route.provider</c> and <c>route.model</c> run as.
    /// </summary>
    public ChainStep StepFor(string provider, string model)
    {
        var s = new ChainStepOptions { Provider = provider, Model = model };
        return new ChainStep(0, provider, model, s.MaxRetries, s.BaseDelay, s.MaxDelay, s.JitterRatio, s.MaxRetryAfter,
            s.Timeout ?? (_providers.TryGetValue(provider, out var p) ? p.Timeout : TimeSpan.FromSeconds(60)))
        {
            MinTimeToAnswer = s.MinTimeToAnswer,
        };
    }
}

/// <summary>Checks the <c>Chains</c> section at start; every message names the key to fix.</summary>
public sealed class ChainsOptionsValidator(IOptions<ProvidersOptions> providers, IConfiguration configuration) : IValidateOptions<ChainsOptions>
{
    private const string Section = ChainsOptions.Section;

    public ValidateOptionsResult Validate(string? name, ChainsOptions options)
    {
        var problems = new OptionProblems();
        var configured = ProvidersOptions.ValidOrNull(providers);

        problems.Check(options.ContainsKey(ChainsOptions.DefaultChain), $"{Section}:{ChainsOptions.DefaultChain}",
            "is missing: requests that name no chain use it", $"{Section}__{ChainsOptions.DefaultChain}__0__Provider, {Section}__{ChainsOptions.DefaultChain}__0__Model");

        foreach (var (chain, steps) in options)
        {
            problems.Check(steps.Count > 0, $"{Section}:{chain}", "has no steps");
            for (var i = 0; i < steps.Count; i++)
            {
                var key = $"{Section}:{chain}:{i}";
                var step = steps[i];
                problems.Annotations(step, key);
                problems.Check(string.IsNullOrWhiteSpace(step.Provider) || configured is null || configured.ContainsKey(step.Provider), $"{key}:Provider",
                    $"'{step.Provider}' is not a configured provider; configured: {string.Join(", ", configured?.Keys.AsEnumerable() ?? [])}");
                problems.Check(step.BaseDelay <= step.MaxDelay, $"{key}:BaseDelay", $"must not be above MaxDelay ({OptionProblems.Text(step.MaxDelay)}), was {OptionProblems.Text(step.BaseDelay)}");
            }
        }

        foreach (var chain in configuration.GetSection(Section).GetChildren())
        {
            foreach (var step in chain.GetChildren())
            {
                problems.UnknownSettings(step, typeof(ChainStepOptions));
            }
        }

        return problems.Result();
    }
}

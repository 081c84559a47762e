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

    private readonly RetryOptions? _retry;

    public ChainCatalog(IOptions<ChainsOptions> chains, IOptions<ProvidersOptions> providers, IOptions<RetryOptions>? retry = null,
        IOptions<ChainPoliciesOptions>? policies = null)
    {
        _providers = providers.Value;
        _retry = retry?.Value;
        _chains = new(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, steps) in chains.Value)
        {
            var policy = policies?.Value.GetValueOrDefault(name);
            var actions = Actions(policy);
            _chains[name] = steps
                .Select((s, i) => Step(i, s, providers.Value, actions, retry?.Value, policy?.Retry))
                .ToList();
        }

        Models = [.. _chains.Values.SelectMany(steps => steps).Select(step => new ProviderModel(step.Provider, step.Model)).Distinct()];
    }

    /// <summary>
    /// One step with its policies resolved: a step that sets step-wide retry settings keeps them for every class, as before
    /// per-class policies; any other gets each class's policy from the <c>Retry</c> section, its chain's and its own.
    /// </summary>
    private static ChainStep Step(int index, ChainStepOptions s, ProvidersOptions providers, IReadOnlyDictionary<ErrorClass, FailureAction> actions,
        RetryOptions? retry, Dictionary<string, RetryPolicyOptions>? chainRetry)
    {
        var stepWide = s.StepWide();
        var positional = stepWide ?? ChainStepOptions.StepWideDefaults;
        return new ChainStep(index, s.Provider, s.Model, positional.MaxRetries, positional.BaseDelay, positional.MaxDelay, positional.JitterRatio,
            s.MaxRetryAfter, s.Timeout ?? (providers.TryGetValue(s.Provider, out var p) ? p.Timeout : TimeSpan.FromSeconds(60)))
        {
            MinTimeToAnswer = s.MinTimeToAnswer,
            Retries = stepWide is null
                ? Enum.GetValues<ErrorClass>().ToDictionary(c => c, c => RetryPolicy.Resolve(c, retry, chainRetry, s.Retry))
                : null,
            Actions = actions,
        };
    }

    /// <summary>A chain's action overrides; validated at start, so every name parses.</summary>
    private static Dictionary<ErrorClass, FailureAction> Actions(ChainPolicyOptions? policy)
    {
        var actions = new Dictionary<ErrorClass, FailureAction>();
        foreach (var (name, value) in policy?.Actions ?? [])
        {
            if (PolicyNames.TryClass(name, out var errorClass) && PolicyNames.TryAction(value, out var action))
                actions[errorClass] = action;
        }

        return actions;
    }

    public IReadOnlyCollection<string> Names => _chains.Keys;

    /// <summary>Every distinct provider and model of the configured chains, in chain order.</summary>
    public IReadOnlyList<ProviderModel> Models { get; }

    public bool TryGet(string? name, out IReadOnlyList<ChainStep> steps) =>
        _chains.TryGetValue(name ?? ChainsOptions.DefaultChain, out steps!);

    /// <summary>
    /// A step with the default settings (<see cref="ChainStepOptions"/> and the <c>Retry</c> section's per-class policies) for a provider and model no chain lists: what a
    /// request's forced <c>route.provider</c> and <c>route.model</c> run as.
    /// </summary>
    public ChainStep StepFor(string provider, string model) =>
        Step(0, new ChainStepOptions { Provider = provider, Model = model }, _providers, new Dictionary<ErrorClass, FailureAction>(), _retry, null);
}

/// <summary>Checks the <c>Chains</c> section at start; every message names the key to fix.</summary>
public sealed class ChainsOptionsValidator(IOptions<ProvidersOptions> providers, IConfiguration configuration,
    IOptions<RetryOptions> retry, IOptions<ChainPoliciesOptions> policies) : IValidateOptions<ChainsOptions>
{
    private const string Section = ChainsOptions.Section;

    public ValidateOptionsResult Validate(string? name, ChainsOptions options)
    {
        var problems = new OptionProblems();
        var configured = ProvidersOptions.ValidOrNull(providers);
        var globalRetry = RetryPolicyChecks.ValidOrNull(retry);
        var chainPolicies = RetryPolicyChecks.ValidOrNull(policies);

        problems.Check(options.ContainsKey(ChainsOptions.DefaultChain), $"{Section}:{ChainsOptions.DefaultChain}",
            "is missing: requests that name no chain use it", $"{Section}__{ChainsOptions.DefaultChain}__0__Provider, {Section}__{ChainsOptions.DefaultChain}__0__Model");

        foreach (var (chain, steps) in options)
        {
            problems.Check(steps.Count > 0, $"{Section}:{chain}", "has no steps");
            var chainRetry = chainPolicies?.GetValueOrDefault(chain)?.Retry;
            for (var i = 0; i < steps.Count; i++)
            {
                var key = $"{Section}:{chain}:{i}";
                var step = steps[i];
                problems.Annotations(step, key);
                problems.Check(string.IsNullOrWhiteSpace(step.Provider) || configured is null || configured.ContainsKey(step.Provider), $"{key}:Provider",
                    $"'{step.Provider}' is not a configured provider; configured: {string.Join(", ", configured?.Keys.AsEnumerable() ?? [])}");
                if (step.StepWide() is { } wide)
                {
                    problems.Check(wide.BaseDelay <= wide.MaxDelay, $"{key}:BaseDelay", $"must not be above MaxDelay ({OptionProblems.Text(wide.MaxDelay)}), was {OptionProblems.Text(wide.BaseDelay)}");
                    problems.Check(step.Retry.Count == 0, $"{key}:Retry",
                        "cannot be combined with MaxRetries, BaseDelay, MaxDelay or JitterRatio, which set one policy for every class on the step");
                }

                RetryPolicyChecks.Level(problems, $"{key}:Retry", step.Retry,
                    globalRetry is null || chainPolicies is null ? null : c => RetryPolicy.Resolve(c, globalRetry, chainRetry));
            }
        }

        foreach (var chain in configuration.GetSection(Section).GetChildren())
        {
            foreach (var step in chain.GetChildren())
            {
                problems.UnknownSettings(step, typeof(ChainStepOptions));
                RetryPolicyChecks.UnknownSettings(problems, step.GetSection(nameof(ChainStepOptions.Retry)));
            }
        }

        return problems.Result();
    }
}

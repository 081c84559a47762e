using Microsoft.Extensions.Options;
using Worker.Providers;

namespace Worker.Chain;

/// <summary>
/// Checks one level of retry settings (<c>Retry</c>, <c>ChainPolicies:{chain}:Retry</c>, <c>Chains:{chain}:{i}:Retry</c>)
/// at start, each message naming its key.
/// </summary>
internal static class RetryPolicyChecks
{
    /// <summary>
    /// Known class names and settings within their ranges; with <paramref name="below"/> (the policy each class has from
    /// the lower levels), also no BaseDelay above MaxDelay once this level is applied, reported at the key this level sets.
    /// </summary>
    public static void Level(OptionProblems problems, string key, IReadOnlyDictionary<string, RetryPolicyOptions> level, Func<ErrorClass, RetryPolicy>? below)
    {
        foreach (var (name, options) in level)
        {
            var classKey = $"{key}:{name}";
            if (!PolicyNames.TryClass(name, out var errorClass))
            {
                problems.Add(classKey, $"is not an error class; known: {string.Join(", ", PolicyNames.Classes)}");
                continue;
            }

            var before = problems.All.Count;
            problems.Annotations(options, classKey);
            if (below is null || problems.All.Count > before)
                continue;

            var policy = below(errorClass).With(options);
            if (policy.BaseDelay <= policy.MaxDelay)
                continue;
            if (options.BaseDelay is not null)
                problems.Add($"{classKey}:BaseDelay", $"must not be above MaxDelay ({OptionProblems.Text(policy.MaxDelay)}), was {OptionProblems.Text(policy.BaseDelay)}");
            else
                problems.Add($"{classKey}:MaxDelay", $"must not be below BaseDelay ({OptionProblems.Text(policy.BaseDelay)}), was {OptionProblems.Text(policy.MaxDelay)}");
        }
    }

    /// <summary>Settings under each class of a <c>Retry</c> section that <see cref="RetryPolicyOptions"/> does not have.</summary>
    public static void UnknownSettings(OptionProblems problems, IConfigurationSection retry)
    {
        foreach (var errorClass in retry.GetChildren())
        {
            problems.UnknownSettings(errorClass, typeof(RetryPolicyOptions));
        }
    }

    /// <summary>The section's value, or null when it failed its own validation (which reports it).</summary>
    public static T? ValidOrNull<T>(IOptions<T> options)
        where T : class
    {
        try
        {
            return options.Value;
        }
        catch (OptionsValidationException)
        {
            return null;
        }
    }
}

/// <summary>Checks the <c>Retry</c> section at start.</summary>
public sealed class RetryOptionsValidator(IConfiguration configuration) : IValidateOptions<RetryOptions>
{
    public ValidateOptionsResult Validate(string? name, RetryOptions options)
    {
        var problems = new OptionProblems();
        RetryPolicyChecks.Level(problems, RetryOptions.Section, options, RetryPolicy.DefaultFor);
        RetryPolicyChecks.UnknownSettings(problems, configuration.GetSection(RetryOptions.Section));
        return problems.Result();
    }
}

/// <summary>Checks the <c>ChainPolicies</c> section at start: configured chains, known classes and actions.</summary>
public sealed class ChainPoliciesOptionsValidator(IConfiguration configuration, IOptions<RetryOptions> retry) : IValidateOptions<ChainPoliciesOptions>
{
    private const string Section = ChainPoliciesOptions.Section;

    public ValidateOptionsResult Validate(string? name, ChainPoliciesOptions options)
    {
        var problems = new OptionProblems();
        var chains = configuration.GetSection(ChainsOptions.Section).GetChildren().Select(c => c.Key).ToList();
        var globalRetry = RetryPolicyChecks.ValidOrNull(retry);
        foreach (var (chain, policy) in options)
        {
            var key = $"{Section}:{chain}";
            problems.Check(chains.Contains(chain, StringComparer.OrdinalIgnoreCase), key, $"is not a configured chain; configured: {string.Join(", ", chains)}");
            RetryPolicyChecks.Level(problems, $"{key}:Retry", policy.Retry, globalRetry is null ? null : c => RetryPolicy.Resolve(c, globalRetry));
            foreach (var (className, action) in policy.Actions)
            {
                var actionKey = $"{key}:Actions:{className}";
                if (!PolicyNames.TryClass(className, out var errorClass))
                    problems.Add(actionKey, $"is not an error class; known: {string.Join(", ", PolicyNames.Classes)}");
                else if (!PolicyNames.TryAction(action, out var parsed))
                    problems.Add(actionKey, $"must be one of {string.Join(", ", Enum.GetNames<FailureAction>())}, was '{action}'");
                else
                    // The request then fails with invalid_request: no other failure reason says "do not try another provider".
                    problems.Check(parsed != FailureAction.FailRequest || errorClass == ErrorClass.InvalidRequest, actionKey,
                        $"may be {nameof(FailureAction.FailRequest)} only for {ErrorClass.InvalidRequest.ToWireName()}");
            }
        }

        foreach (var chain in configuration.GetSection(Section).GetChildren())
        {
            problems.UnknownSettings(chain, typeof(ChainPolicyOptions));
            RetryPolicyChecks.UnknownSettings(problems, chain.GetSection(nameof(ChainPolicyOptions.Retry)));
        }

        return problems.Result();
    }
}

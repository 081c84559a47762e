using System.ComponentModel.DataAnnotations;
using Worker.Providers;

namespace Worker.Chain;

/// <summary>
/// The <c>Retry</c> section: the retry policy of each error class, keyed by its wire name, for every step that does
/// not set its own step-wide MaxRetries, BaseDelay, MaxDelay or JitterRatio, e.g. <c>Retry__server__MaxRetries=4</c>.
/// A class or setting left out keeps its default (<see cref="RetryPolicy.Defaults"/>).
/// </summary>
public sealed class RetryOptions : Dictionary<string, RetryPolicyOptions>
{
    public const string Section = "Retry";

    public RetryOptions() : base(StringComparer.OrdinalIgnoreCase)
    {
    }
}

/// <summary>
/// Retry settings of one error class, at any level (<c>Retry</c>, <c>ChainPolicies:{chain}:Retry</c>,
/// <c>Chains:{chain}:{i}:Retry</c>); each one left empty comes from the level below.
/// </summary>
public sealed class RetryPolicyOptions
{
    /// <summary>Calls after the first one for this class on a step.</summary>
    [Range(0, 10)]
    public int? MaxRetries { get; set; }

    /// <summary>The wait before the first retry, at most <see cref="MaxDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan? BaseDelay { get; set; }

    /// <summary>Cap on one wait: at most 1 h (a wait above Chain:InProcessWaitLimit is deferred).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan? MaxDelay { get; set; }

    /// <summary>What each wait is multiplied by for the next retry: 1 keeps waits fixed, 2 doubles them. Below 1 waits would shrink.</summary>
    [Range(1.0, 10.0)]
    public double? Factor { get; set; }

    /// <summary>Random spread of each wait, plus or minus this share, so retries from many requests do not align.</summary>
    [Range(0.0, 1.0)]
    public double? JitterRatio { get; set; }
}

/// <summary>
/// The <c>ChainPolicies</c> section: per chain (a name from <c>Chains</c>), retry policies that replace the <c>Retry</c>
/// section's and what each error class does, e.g. <c>ChainPolicies__fast__Actions__server=FallBack</c>.
/// </summary>
public sealed class ChainPoliciesOptions : Dictionary<string, ChainPolicyOptions>
{
    public const string Section = "ChainPolicies";

    public ChainPoliciesOptions() : base(StringComparer.OrdinalIgnoreCase)
    {
    }
}

/// <summary>One chain's policies.</summary>
public sealed class ChainPolicyOptions
{
    /// <summary>Error class wire name to retry settings, over the <c>Retry</c> section's.</summary>
    public Dictionary<string, RetryPolicyOptions> Retry { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Error class wire name to Retry, RetryOnce, FallBack or FailRequest, over the default table
    /// (<see cref="ErrorPolicy"/>). Text rather than the enum, so a wrong value is reported with its key.
    /// </summary>
    public Dictionary<string, string> Actions { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>Reads the configuration's class and action names.</summary>
public static class PolicyNames
{
    /// <summary>Every error class's wire name (rate_limit, server, ...), as keys are written.</summary>
    public static IEnumerable<string> Classes => Enum.GetValues<ErrorClass>().Select(c => c.ToWireName());

    public static bool TryClass(string name, out ErrorClass errorClass)
    {
        errorClass = Enum.GetValues<ErrorClass>().FirstOrDefault(c => string.Equals(c.ToWireName(), name, StringComparison.OrdinalIgnoreCase));
        return string.Equals(errorClass.ToWireName(), name, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>An action by its name only: <see cref="Enum.TryParse{TEnum}(string?, bool, out TEnum)"/> would take "2" too.</summary>
    public static bool TryAction(string? name, out FailureAction action)
    {
        action = Enum.GetValues<FailureAction>().FirstOrDefault(a => string.Equals(a.ToString(), name, StringComparison.OrdinalIgnoreCase));
        return string.Equals(action.ToString(), name, StringComparison.OrdinalIgnoreCase);
    }
}

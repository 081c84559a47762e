using Worker.Providers;

namespace Worker.Chain;

/// <summary>
/// How a step retries one error class: how often, and how long it waits before each retry. The wait before retry
/// <c>n</c> is <c>BaseDelay * Factor^(n-1)</c>, capped at <see cref="MaxDelay"/>, spread by plus or minus
/// <see cref="JitterRatio"/> (see <see cref="Backoff"/>); a provider's Retry-After wins over it.
/// </summary>
/// <param name="MaxRetries">Calls after the first one for this class.</param>
/// <param name="Factor">What each delay is multiplied by for the next retry: 2 doubles, 1 keeps delays fixed.</param>
public sealed record RetryPolicy(int MaxRetries, TimeSpan BaseDelay, TimeSpan MaxDelay, double Factor, double JitterRatio)
{
    /// <summary>
    /// The defaults of the classes that are retried (issue #13): a rate limit says "later", so it waits longer and grows
    /// faster; a server error is usually over in seconds; a network error is cheap to retry and often brief.
    /// </summary>
    public static readonly IReadOnlyDictionary<ErrorClass, RetryPolicy> Defaults = new Dictionary<ErrorClass, RetryPolicy>
    {
        [ErrorClass.RateLimited] = new(2, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(120), 3, 0.2),
        [ErrorClass.Server] = new(3, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), 2, 0.2),
        [ErrorClass.Network] = new(5, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), 2, 0.2),
    };

    /// <summary>
    /// The default of <paramref name="errorClass"/>; a class not retried by default (which a chain may still map to
    /// <see cref="FailureAction.Retry"/>) starts from the server policy.
    /// </summary>
    public static RetryPolicy DefaultFor(ErrorClass errorClass) =>
        Defaults.TryGetValue(errorClass, out var policy) ? policy : Defaults[ErrorClass.Server];

    /// <summary>
    /// The policy of <paramref name="errorClass"/> through configuration levels, lowest first (the <c>Retry</c> section, a
    /// chain's, a step's): each setting comes from the highest level that sets it, else the default.
    /// </summary>
    public static RetryPolicy Resolve(ErrorClass errorClass, params IReadOnlyDictionary<string, RetryPolicyOptions>?[] levels) =>
        levels.Aggregate(DefaultFor(errorClass), (policy, level) => policy.With(level?.GetValueOrDefault(errorClass.ToWireName())));

    /// <summary>The same policy with the settings <paramref name="options"/> gives replaced.</summary>
    public RetryPolicy With(RetryPolicyOptions? options) => options is null
        ? this
        : new(options.MaxRetries ?? MaxRetries, options.BaseDelay ?? BaseDelay, options.MaxDelay ?? MaxDelay,
            options.Factor ?? Factor, options.JitterRatio ?? JitterRatio);
}

using Worker.Providers;
namespace Worker.Chain;

/// <summary>What the chain does after a failed call.</summary>
public enum FailureAction
{
    /// <summary>Call the same step again after a backoff (or the provider's Retry-After), while the class's retries remain.</summary>
    Retry,

    /// <summary>Call the same step once more at once (no backoff, whatever the retry policy says), then fall back.</summary>
    RetryOnce,

    /// <summary>Stop using this step for this request and go to the next one.</summary>
    FallBack,

    /// <summary>Stop the whole chain: no provider will accept this request as it is.</summary>
    FailRequest,
}

/// <summary>
/// The default error class to action table. It lives in one place so the README, the logs and the code agree;
/// the reasons are the "why" printed in the README table. A chain may change a class's action
/// (<c>ChainPolicies:{chain}:Actions:{class}</c>), which the catalog resolves into <see cref="ChainStep.ActionFor"/>.
/// </summary>
public static class ErrorPolicy
{
    public static FailureAction ActionFor(ErrorClass errorClass) => errorClass switch
    {
        // Transient by nature: the same provider is likely to answer soon.
        ErrorClass.RateLimited or ErrorClass.Server or ErrorClass.Network => FailureAction.Retry,

        // A timed-out attempt already spent its whole budget: another provider is the faster bet.
        ErrorClass.Timeout => FailureAction.FallBack,

        // Broken output (malformed, empty) is mostly a one-off: one more call on the same step answers more often than not,
        // for the primary's price and quality; a second one in a row says the model is stuck on it, so fall back.
        ErrorClass.BadOutput => FailureAction.RetryOnce,

        // A bad key stays bad; blocked content tends to repeat for the same prompt on the same model.
        ErrorClass.Auth or ErrorClass.ContentBlocked => FailureAction.FallBack,

        // The request itself is wrong: burning every provider on it would only multiply the cost.
        ErrorClass.InvalidRequest => FailureAction.FailRequest,

        _ => throw new ArgumentOutOfRangeException(nameof(errorClass), errorClass, null),
    };
}

using Worker.Providers;
namespace Worker.Chain;

/// <summary>What the chain does after a failed call.</summary>
public enum FailureAction
{
    /// <summary>Call the same step again after a backoff (or the provider's Retry-After), while retries remain.</summary>
    Retry,

    /// <summary>Stop using this step for this request and go to the next one.</summary>
    FallBack,

    /// <summary>Stop the whole chain: no provider will accept this request as it is.</summary>
    FailRequest,
}

/// <summary>
/// The error class to action table. It lives in one place so the README, the logs and the code agree;
/// the reasons are the "why" printed in the README table.
/// </summary>
public static class ErrorPolicy
{
    public static FailureAction ActionFor(ErrorClass errorClass) => errorClass switch
    {
        // Transient by nature: the same provider is likely to answer soon.
        ErrorClass.RateLimited or ErrorClass.Server or ErrorClass.Network => FailureAction.Retry,

        // A timed-out attempt already spent its whole budget: another provider is the faster bet.
        ErrorClass.Timeout => FailureAction.FallBack,

        // A bad key stays bad; blocked content and broken output tend to repeat on the same model.
        ErrorClass.Auth or ErrorClass.ContentBlocked or ErrorClass.BadOutput => FailureAction.FallBack,

        // The request itself is wrong: burning every provider on it would only multiply the cost.
        ErrorClass.InvalidRequest => FailureAction.FailRequest,

        _ => throw new ArgumentOutOfRangeException(nameof(errorClass), errorClass, null),
    };
}

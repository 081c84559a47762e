namespace Worker.Providers;

/// <summary>
/// Every provider failure falls in exactly one class; the class decides what the chain does next
/// (see Chain's <c>ErrorPolicy</c> and the table in the README).
/// </summary>
public enum ErrorClass
{
    /// <summary>429, RESOURCE_EXHAUSTED, quota: wait (honouring Retry-After) or move on.</summary>
    RateLimited,

    /// <summary>500/502/503/504 and other 5xx: retry with backoff, then fall back.</summary>
    Server,

    /// <summary>Connection refused or reset, DNS failure: retry with backoff, then fall back.</summary>
    Network,

    /// <summary>The attempt ran out of time (never surfaced as a bare cancellation).</summary>
    Timeout,

    /// <summary>401/403: the key is wrong or lacks access. Retrying is waste: fall back.</summary>
    Auth,

    /// <summary>400 and other 4xx: the request itself is wrong; no provider will accept it.</summary>
    InvalidRequest,

    /// <summary>Safety, recitation, content filter, prompt blocked.</summary>
    ContentBlocked,

    /// <summary>A 2xx whose body is malformed, has no candidates/choices, or has no text.</summary>
    BadOutput,
}

public static class ErrorClassNames
{
    /// <summary>The stable snake_case name used in logs, audit rows and metrics.</summary>
    public static string ToWireName(this ErrorClass errorClass) => errorClass switch
    {
        ErrorClass.RateLimited => "rate_limit",
        ErrorClass.Server => "server",
        ErrorClass.Network => "network",
        ErrorClass.Timeout => "timeout",
        ErrorClass.Auth => "auth",
        ErrorClass.InvalidRequest => "invalid_request",
        ErrorClass.ContentBlocked => "content_blocked",
        ErrorClass.BadOutput => "bad_output",
        _ => throw new ArgumentOutOfRangeException(nameof(errorClass), errorClass, null),
    };
}

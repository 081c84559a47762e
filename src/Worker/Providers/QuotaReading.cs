namespace Worker.Providers;

/// <summary>
/// What a provider said about its rate limits in one response (OpenAI's <c>x-ratelimit-*</c> headers), so the worker can
/// steer away from a provider before it answers 429. Either window may be missing: compatible servers send some, all or
/// none of the headers.
/// </summary>
/// <param name="At">When the response was read; the reset times are absolute, computed from it.</param>
public sealed record QuotaReading(DateTimeOffset At, QuotaWindow? Requests, QuotaWindow? Tokens);

/// <summary>One limit of a <see cref="QuotaReading"/>: requests or tokens.</summary>
/// <param name="Remaining">What the provider still allows before <paramref name="ResetAt"/>.</param>
/// <param name="Limit">The window's allowance, when the provider said.</param>
/// <param name="ResetAt">When the window is full again, when the provider said.</param>
public readonly record struct QuotaWindow(long Remaining, long? Limit, DateTimeOffset? ResetAt)
{
    /// <summary>
    /// Remaining over limit, in [0, 1]; 0 when nothing remains even without a limit (exhausted is known either way);
    /// null when there is no limit to measure against.
    /// </summary>
    public double? Fraction => Limit is > 0 and var limit
        ? Math.Clamp((double)Remaining / limit, 0, 1)
        : Remaining == 0 ? 0 : null;
}

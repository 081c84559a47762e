namespace Worker.ProviderHealth;

/// <summary>
/// How much of a provider and model's quota is left, as this instance knows it: the latest rate-limit headers (while
/// their window has not reset) and the configured daily quota (<c>Quotas</c> section) counted from the audit trail.
/// Routing ranks candidates by it and skips exhausted ones. Get it from DI; it answers from memory, so it is cheap
/// enough to ask before every call.
/// </summary>
public interface IQuotaView
{
    /// <summary>
    /// The lowest remaining fraction (0..1) among the fresh header windows and the daily quota; 0 means exhausted
    /// until a reset. Null when nothing is known (no headers yet, or all past their reset, and no daily quota).
    /// </summary>
    double? RemainingFraction(string provider, string model);
}

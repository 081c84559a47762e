using System.Globalization;

namespace Worker.Metrics;

/// <summary>A look-back window written the way people say it: <c>15m</c>, <c>1h</c>, <c>24h</c>, <c>7d</c>.</summary>
public static class MetricsWindow
{
    /// <summary>Longest window accepted; older rows are normally gone to retention anyway.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(366);

    public const string Help = "a positive number followed by m (minutes), h (hours) or d (days), e.g. 15m, 1h, 24h, 7d; at most 366d";

    public static bool TryParse(string? text, out TimeSpan window)
    {
        window = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length < 2)
            return false;

        var number = text.AsSpan(0, text.Length - 1);
        if (!int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value <= 0)
            return false;

        TimeSpan? parsed = char.ToLowerInvariant(text[^1]) switch
        {
            'm' when value <= Max.TotalMinutes => TimeSpan.FromMinutes(value),
            'h' when value <= Max.TotalHours => TimeSpan.FromHours(value),
            'd' when value <= Max.TotalDays => TimeSpan.FromDays(value),
            _ => null,
        };
        window = parsed ?? default;
        return parsed is not null;
    }
}

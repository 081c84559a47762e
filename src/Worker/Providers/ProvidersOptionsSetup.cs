using System.Globalization;
using Microsoft.Extensions.Options;
using Worker.Providers.OpenAI;

namespace Worker.Providers;

/// <summary>
/// Reads the <c>Providers</c> section by hand instead of with the configuration binder: the binder stops at the
/// first value it cannot convert (Kind=Foo) with a message that names neither the environment variable nor the
/// allowed values. Here every problem is collected with the exact key to fix, and reported at start.
/// </summary>
internal sealed class ProvidersOptionsSetup(IConfiguration configuration) : IConfigureOptions<ProvidersOptions>
{
    /// <summary>A provider's call bound above this is almost surely a unit mistake ("30" reads as 30 days).</summary>
    internal static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(30);

    /// <summary>MaxResponseBytes bounds: an answer fits in far less than the top, and the bottom still holds an error page.</summary>
    internal const long ResponseBytesFloor = 1024, ResponseBytesCeiling = 256 * 1024 * 1024;

    private static readonly string[] KnownSettings =
        [nameof(ProviderOptions.Kind), nameof(ProviderOptions.BaseUrl), nameof(ProviderOptions.Timeout),
         nameof(ProviderOptions.ApiKey), nameof(ProviderOptions.ApiKeyVariable), nameof(ProviderOptions.MaxResponseBytes),
         nameof(ProviderOptions.Preset)];

    public void Configure(ProvidersOptions options)
    {
        foreach (var entry in configuration.GetSection(ProvidersOptions.Section).GetChildren())
        {
            options[entry.Key] = Read(entry, options.Problems);
        }
    }

    private ProviderOptions Read(IConfigurationSection entry, List<string> problems)
    {
        var name = entry.Key;
        string Key(string setting) => $"{ProvidersOptions.Section}:{name}:{setting}";
        string Env(string setting) => $"{ProvidersOptions.Section}__{name}__{setting}";

        var options = new ProviderOptions
        {
            ApiKey = NullIfBlank(entry[nameof(ProviderOptions.ApiKey)]),
            ApiKeyVariable = NullIfBlank(entry[nameof(ProviderOptions.ApiKeyVariable)]),
        };

        // A preset only fills in what is not configured: explicit settings win.
        var presetName = NullIfBlank(entry[nameof(ProviderOptions.Preset)]);
        var preset = OpenAICompatPresets.Find(presetName);
        if (presetName is not null && preset is null)
        {
            problems.Add($"{Key("Preset")} '{presetName}' is not one of {OpenAICompatPresets.Names} (env {Env("Preset")})");
        }

        options.Preset = preset?.Name;
        options.ApiKeyVariable ??= preset?.ApiKeyVariable;

        var kinds = string.Join(", ", Enum.GetNames<ProviderKind>());
        var kind = NullIfBlank(entry[nameof(ProviderOptions.Kind)]);
        if (kind is null)
        {
            if (preset is not null)
            {
                options.Kind = ProviderKind.OpenAI;
            }
            else if (presetName is null)
            {
                problems.Add($"{Key("Kind")} is required: one of {kinds}, or a Preset (env {Env("Kind")})");
            }
        }
        else if (Enum.GetNames<ProviderKind>().FirstOrDefault(k => k.Equals(kind, StringComparison.OrdinalIgnoreCase)) is { } known)
        {
            options.Kind = Enum.Parse<ProviderKind>(known);
        }
        else
        {
            problems.Add($"{Key("Kind")} '{kind}' is not one of {kinds} (env {Env("Kind")})");
        }

        if (preset is not null && options.Kind is { } explicitKind && explicitKind != ProviderKind.OpenAI)
        {
            problems.Add($"{Key("Preset")} '{preset.Name}' is an OpenAI-compatible API, but {Key("Kind")} is {explicitKind} (env {Env("Preset")})");
        }

        var baseUrl = NullIfBlank(entry[nameof(ProviderOptions.BaseUrl)]) ?? preset?.BaseUrl.AbsoluteUri;
        if (Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            if (uri.Query.Length > 0 || uri.UserInfo.Length > 0)
            {
                // A ?key= here would put the secret in every URL that gets logged.
                problems.Add($"{Key("BaseUrl")} must not carry a query string or user info; put the key in ApiKey or {options.EffectiveApiKeyVariable} (env {Env("BaseUrl")})");
            }

            options.BaseUrl = uri;
        }
        else
        {
            problems.Add(baseUrl is null
                ? $"{Key("BaseUrl")} must be an absolute http(s) URL (env {Env("BaseUrl")}), but it is not set"
                : $"{Key("BaseUrl")} must be an absolute http(s) URL (env {Env("BaseUrl")}), got '{baseUrl}'");
        }

        if (NullIfBlank(entry[nameof(ProviderOptions.Timeout)]) is { } timeoutText)
        {
            if (!TimeSpan.TryParse(timeoutText, CultureInfo.InvariantCulture, out var timeout))
            {
                problems.Add($"{Key("Timeout")} '{timeoutText}' is not a duration such as 00:00:30 (env {Env("Timeout")})");
            }
            else if (timeout <= TimeSpan.Zero)
            {
                problems.Add($"{Key("Timeout")} must be positive, got {timeoutText} (env {Env("Timeout")})");
            }
            else if (timeout > MaxTimeout)
            {
                problems.Add($"{Key("Timeout")} must be at most {MaxTimeout}, got {timeout} (a bare number means days: write 00:00:30) (env {Env("Timeout")})");
            }
            else
            {
                options.Timeout = timeout;
            }
        }

        if (NullIfBlank(entry[nameof(ProviderOptions.MaxResponseBytes)]) is { } maxText)
        {
            if (long.TryParse(maxText, NumberStyles.None, CultureInfo.InvariantCulture, out var max) && max is >= ResponseBytesFloor and <= ResponseBytesCeiling)
            {
                options.MaxResponseBytes = max;
            }
            else
            {
                problems.Add($"{Key("MaxResponseBytes")} must be a whole number of bytes from {ResponseBytesFloor} to {ResponseBytesCeiling}, got '{maxText}' (env {Env("MaxResponseBytes")})");
            }
        }

        if (preset is { NeedsKey: false } && options.ApiKeyVariable is null)
        {
            // A local server needs no key, and must not be handed OPENAI_API_KEY, the kind's default variable.
            options.ApiKey ??= OpenAICompatPresets.PlaceholderKey;
        }

        // Environment variables are part of IConfiguration, so the variable is read from there (and tests can set it).
        options.ApiKey ??= NullIfBlank(configuration[options.EffectiveApiKeyVariable]);
        if (options.ApiKey is null)
        {
            problems.Add($"{ProvidersOptions.Section}:{name} has no API key: set {options.EffectiveApiKeyVariable} or {Env("ApiKey")}");
        }

        foreach (var setting in entry.GetChildren())
        {
            if (!KnownSettings.Contains(setting.Key, StringComparer.OrdinalIgnoreCase))
            {
                problems.Add($"{Key(setting.Key)} is not a provider setting; known: {string.Join(", ", KnownSettings)}");
            }
        }

        return options;
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>Fails start-up with every problem <see cref="ProvidersOptionsSetup"/> found, each naming its key.</summary>
internal sealed class ProvidersOptionsValidator : IValidateOptions<ProvidersOptions>
{
    public ValidateOptionsResult Validate(string? name, ProvidersOptions options)
    {
        if (options.Count == 0)
        {
            return ValidateOptionsResult.Fail(
                $"{ProvidersOptions.Section} has no providers: configure at least one, e.g. env " +
                $"{ProvidersOptions.Section}__gemini__Kind=Gemini and {ProvidersOptions.Section}__gemini__BaseUrl=https://generativelanguage.googleapis.com");
        }

        return options.Problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(options.Problems);
    }
}

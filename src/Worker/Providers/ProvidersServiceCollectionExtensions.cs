using System.Net;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;
using Worker.Providers.Anthropic;
using Worker.Providers.Gemini;
using Worker.Providers.OpenAI;

namespace Worker.Providers;

public static class ProvidersServiceCollectionExtensions
{
    /// <summary>Prefix of the named HttpClient of each provider: "Providers:gemini".</summary>
    internal const string HttpClientPrefix = ProvidersOptions.Section + ":";

    /// <summary>
    /// Binds and validates the <c>Providers</c> section at start, and registers <see cref="ProviderRegistry"/>
    /// (also as <see cref="IProviderRegistry"/>) holding one provider per entry.
    /// </summary>
    public static IServiceCollection AddProviders(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<ProvidersOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<ProvidersOptions>, ProvidersOptionsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProvidersOptions>, ProvidersOptionsValidator>());

        services.AddHttpClient();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<HttpClientFactoryOptions>, ProviderHttpClientSetup>());

        services.TryAddSingleton(CreateRegistry);
        services.TryAddSingleton<IProviderRegistry>(sp => sp.GetRequiredService<ProviderRegistry>());
        return services;
    }

    internal static string HttpClientName(string provider) => HttpClientPrefix + provider;

    private static ProviderRegistry CreateRegistry(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ProvidersOptions>>().Value;
        var httpClients = services.GetRequiredService<IHttpClientFactory>();
        var time = services.GetRequiredService<TimeProvider>();
        var loggers = services.GetRequiredService<ILoggerFactory>();
        var logger = loggers.CreateLogger(typeof(ProviderRegistry).FullName!);

        var providers = new List<ICompletionProvider>(options.Count);
        foreach (var (name, provider) in options)
        {
            // Each provider keeps its HttpClient for the worker's life; PooledConnectionLifetime handles DNS changes.
            var http = httpClients.CreateClient(HttpClientName(name));
            providers.Add(provider.Kind switch
            {
                ProviderKind.Gemini => new GeminiProvider(name, provider, http, time),
                ProviderKind.OpenAI => new OpenAIProvider(name, provider, http, time, loggers.CreateLogger(typeof(OpenAIProvider).FullName!)),
                ProviderKind.Anthropic => new AnthropicProvider(name, provider, http, time, loggers.CreateLogger(typeof(AnthropicProvider).FullName!)),
                _ => throw new InvalidOperationException($"{ProvidersOptions.Section}:{name}:Kind '{provider.Kind}' is not supported."),
            });
            Log.ProviderCreated(logger, name, provider.Kind!.Value, provider.BaseUrl!.Authority, provider.Timeout);
        }

        return new ProviderRegistry(providers);
    }
}

/// <summary>
/// The HttpClients of providers (named "Providers:{name}"), whatever names the configuration holds: no timeout
/// of their own (the chain and each provider's Timeout own that), no retry handlers, a pool sized for the
/// worker's peak concurrency, and response bodies bounded by the provider's MaxResponseBytes.
/// </summary>
internal sealed class ProviderHttpClientSetup(IOptions<ProvidersOptions> providers) : IConfigureNamedOptions<HttpClientFactoryOptions>
{
    // The worker runs up to 2,000 calls at once, possibly all to one provider over HTTP/1.1 (one connection per
    // in-flight call). A request waiting for a free connection would burn its attempt timeout in the queue.
    internal const int MaxConnectionsPerServer = 2_500;

    public void Configure(HttpClientFactoryOptions options)
    {
    }

    public void Configure(string? name, HttpClientFactoryOptions options)
    {
        if (name is null || !name.StartsWith(ProvidersServiceCollectionExtensions.HttpClientPrefix, StringComparison.Ordinal))
        {
            return;
        }

        options.HttpClientActions.Add(client => client.Timeout = Timeout.InfiniteTimeSpan);
        var provider = name[ProvidersServiceCollectionExtensions.HttpClientPrefix.Length..];
        options.HttpMessageHandlerBuilderActions.Add(builder =>
        {
            builder.PrimaryHandler = CreateHandler();
            var maxBytes = providers.Value.TryGetValue(provider, out var configured) ? configured.MaxResponseBytes : ProviderOptions.DefaultMaxResponseBytes;
            builder.AdditionalHandlers.Add(new ResponseBodyLimit(provider, maxBytes));
        });
        // Clients are created once and kept, so handler rotation would only leak handlers; see PooledConnectionLifetime.
        options.HandlerLifetime = Timeout.InfiniteTimeSpan;
        // The x-goog-api-key and Authorization headers must never reach a log, even at Trace.
        options.ShouldRedactHeaderValue = _ => true;
    }

    internal static SocketsHttpHandler CreateHandler() => new()
    {
        // Re-resolves DNS and spreads load across provider front ends even though the handler lives forever.
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        MaxConnectionsPerServer = MaxConnectionsPerServer,
        EnableMultipleHttp2Connections = true,
        // No Accept-Encoding is sent, so nothing needs inflating: a small compressed body cannot expand past
        // MaxResponseBytes inside the handler (ResponseBodyLimit refuses a compressed body sent anyway).
        AutomaticDecompression = DecompressionMethods.None,
        // A redirected POST becomes a GET; a 3xx is reported (as a BaseUrl problem) instead of followed.
        AllowAutoRedirect = false,
    };
}

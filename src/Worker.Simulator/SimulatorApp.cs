using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration.Memory;
using Worker.Simulator.Admin;
using Worker.Simulator.Anthropic;
using Worker.Simulator.Calls;
using Worker.Simulator.Gemini;
using Worker.Simulator.OpenAI;

namespace Worker.Simulator;

/// <summary>
/// The LLM provider simulator: Gemini generateContent, OpenAI Chat Completions and Anthropic Messages over real HTTP, with faults
/// injected per target (the first path segment). Standalone: <c>dotnet run --project src/Worker.Simulator</c>.
/// In-process: <c>var app = SimulatorApp.Build(["--urls", "http://127.0.0.1:0"]); await app.StartAsync();</c>, then
/// <see cref="GetBaseAddress"/> and <c>app.Services.GetRequiredService&lt;SimulatorState&gt;()</c>.
/// </summary>
public static class SimulatorApp
{
    /// <summary>Where the simulator listens when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> nor Kestrel endpoints say.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>Builds the simulator host, not yet started.</summary>
    /// <param name="args">Command-line arguments, e.g. <c>["--urls", "http://127.0.0.1:0"]</c> for a free port.</param>
    /// <param name="configure">Adjusts the options after configuration is bound, e.g. to set profiles in force from start.</param>
    /// <param name="timeProvider">Clock for outage windows, latency, hangs and timestamps; defaults to <see cref="TimeProvider.System"/>.</param>
    public static WebApplication Build(string[] args, Action<SimulatorOptions>? configure = null, TimeProvider? timeProvider = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(SimulatorApp).Assembly.GetName().Name,
        });
        // Lowest-precedence defaults: a log line per request would swamp a 2,000-call benchmark, yet stays switchable.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?> { ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning" },
        });
        if (!HasConfiguredUrls(builder.Configuration))
            builder.WebHost.UseUrls(DefaultUrl);
        // Benchmarks open 2,000 connections at once; the default backlog of 512 would make some of them wait a retransmit.
        builder.Services.Configure<SocketTransportOptions>(o => o.Backlog = 4096);

        if (timeProvider is not null)
            builder.Services.AddSingleton(timeProvider);
        builder.Services.AddSimulatorState(configure);

        var app = builder.Build();
        app.MapGemini();
        app.MapOpenAI();
        app.MapAnthropic();
        app.MapAdmin();

        // Resolved now so configured outage windows start with the host and bad profiles fail fast, naming the key.
        _ = app.Services.GetRequiredService<SimulatorState>();
        app.Lifetime.ApplicationStarted.Register(() => LogStarted(app));
        return app;
    }

    /// <summary>The first address the started host listens on, e.g. <c>http://127.0.0.1:41234/</c> after binding port 0.</summary>
    public static Uri GetBaseAddress(this WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        var first = addresses.FirstOrDefault() ?? throw new InvalidOperationException("The simulator has no address yet: call StartAsync first.");
        return new Uri(first.EndsWith('/') ? first : first + "/");
    }

    private static bool HasConfiguredUrls(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["urls"])
        || !string.IsNullOrEmpty(configuration["http_ports"])
        || !string.IsNullOrEmpty(configuration["https_ports"])
        || configuration.GetSection("Kestrel:Endpoints").Exists();

    private static void LogStarted(WebApplication app)
    {
        var routes =
            from endpoint in app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            let methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []
            select $"{string.Join('|', methods)} {endpoint.RoutePattern.RawText}";
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        Log.Started(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Worker.Simulator"), string.Join(", ", addresses), string.Join(", ", routes));
    }
}

using ErrorHub.Ingestion.Decoding;
using ErrorHub.Protocol;
using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Grouping;

/// <summary>
/// What distinguishes one version of the grouping rules from the one before it. Version 5 is version 4 with the
/// HTTP status an HTTP client's exception reports (docs/grouping.md, "Version 5"); version 6 is version 5 reading what a cut
/// or frameless report still says (docs/grouping.md, "Version 6"); version 7 is version 6 keying a library's null dereference by its
/// method where no app frame is, and passing over a property setter between a guard and its caller (docs/grouping.md, "Version 7"); version 8
/// is version 7 reading only Microsoft's products as framework code under Microsoft (docs/grouping.md, "Version 8"); version 9 is version 8 reading a
/// NuGet package's frame as a library's, where the client says its assembly is a package's, and counting the request's route beside a minimal API
/// handler's frame (a lambda of the entry point) (docs/grouping.md, "Version 9"); version 10 is version 9 counting the route in the place of a
/// minimal API handler the JIT inlined away, and instead of an entry point lambda's frame (docs/grouping.md, "Version 10"); version 11 is version 10 counting
/// a named handler method, as the endpoint's metadata names it, in the place of its frame where the JIT inlined it away (docs/grouping.md, "Version 11"); version 12 is version 11 reading the component that threw from a framework type's own throw
/// helper, which stays a frame whatever the JIT inlined after it (docs/grouping.md, "Version 12"); version 13 is version 12 keying by its endpoint
/// a lambda that the routing middleware awaited directly, a handler that returns a plain Task (docs/grouping.md, "Version 13"); version 14 is version 13 keying
/// a failure with no frame of the app's code by the request's handler where that handler is a library's method in the stack (the Identity UI's
/// Razor Pages: docs/grouping.md, "Version 14"); version 15 is version 14 keying a library's own exception type without an app frame by the method
/// that threw it (docs/grouping.md, "Version 15"); version 16 is version 15 passing over, on an event whose frames carry no assembly (a text trace),
/// the frames of the library whose own exception it is, for the app's frame below them (docs/grouping.md, "Version 16"); version 17 is version 16
/// counting, beside an app frame, the HRESULT a COM error's message reports (docs/grouping.md, "Version 17"). Version 4 is version 3 with
/// more client libraries as framework code and the names a frameless message quotes (docs/grouping.md, "Version 4");
/// version 3 is version 2 with more general .NET knowledge ("Version 3"): more framework namespaces, throw
/// helpers written as local functions, and UI frameworks' thread checks as guards. Every older version stays
/// computable: an event a version groups otherwise than the one before carries the older fingerprints as legacy
/// ones, so the issues older versions made keep their events.
/// </summary>
internal sealed class GroupingRules
{
    /// <summary>A version on top of <paramref name="previous"/>; internal so that tests can check the chain of versions with one not released.</summary>
    internal GroupingRules(int version, GroupingRules? previous, string[] addedFrameworkNamespaces, bool localThrowHelpers, bool threadChecksAreGuards,
        bool framelessNames = false, bool httpStatus = false, bool messageLoopEntryIsNotApp = false, bool unquotedTypeNames = false,
        bool typeNamesWithoutFrames = false, bool nullDereferenceMethod = false, bool settersPassTheirValue = false, bool microsoftProductsOnly = false,
        bool packagesAreLibraries = false, bool entryPointHandlersByEndpoint = false, bool endpointStandsForHandler = false, bool handlerMethodStandsIn = false,
        bool throwHelperOwnerThrew = false, bool endpointMiddlewareCallsHandler = false, bool libraryHandlerStandsIn = false,
        bool ownExceptionMethod = false, bool ownLibraryPassedOver = false, bool comErrorCode = false)
    {
        Version = version;
        Previous = previous;
        AddedFrameworkNamespaces = addedFrameworkNamespaces;
        LocalThrowHelpers = localThrowHelpers;
        ThreadChecksAreGuards = threadChecksAreGuards;
        FramelessNames = framelessNames;
        HttpStatus = httpStatus;
        MessageLoopEntryIsNotApp = messageLoopEntryIsNotApp;
        UnquotedTypeNames = unquotedTypeNames;
        TypeNamesWithoutFrames = typeNamesWithoutFrames;
        NullDereferenceMethod = nullDereferenceMethod;
        SettersPassTheirValue = settersPassTheirValue;
        MicrosoftProductsOnly = microsoftProductsOnly;
        PackagesAreLibraries = packagesAreLibraries;
        EntryPointHandlersByEndpoint = entryPointHandlersByEndpoint;
        EndpointStandsForHandler = endpointStandsForHandler;
        HandlerMethodStandsIn = handlerMethodStandsIn;
        ThrowHelperOwnerThrew = throwHelperOwnerThrew;
        EndpointMiddlewareCallsHandler = endpointMiddlewareCallsHandler;
        LibraryHandlerStandsIn = libraryHandlerStandsIn;
        OwnExceptionMethod = ownExceptionMethod;
        OwnLibraryPassedOver = ownLibraryPassedOver;
        ComErrorCode = comErrorCode;
    }

    public static GroupingRules V2 { get; } = new(2, previous: null, [], localThrowHelpers: false, threadChecksAreGuards: false);

    /// <summary>
    /// Version 2 and: the UI frameworks and libraries whose frames version 2 took for the app's code
    /// (Avalonia; the Realm database; Orleans; MassTransit and NServiceBus; ReactiveUI, DynamicData and the
    /// MVVM toolkit; Nancy; .NET Native's generated interop, __Interop); a local function named Throw*
    /// (<c>&lt;VerifyAccess&gt;g__ThrowVerifyAccess|16_0</c>) is a throw helper like a method named so; a
    /// UI framework's thread check (Dispatcher.VerifyAccess) refuses its caller's thread, a guard.
    /// </summary>
    public static GroupingRules V3 { get; } = new(3, V2,
        ["Avalonia", "Realms", "Orleans", "MassTransit", "NServiceBus", "ReactiveUI", "DynamicData", "CommunityToolkit", "Nancy", "__Interop"],
        localThrowHelpers: true, threadChecksAreGuards: true);

    /// <summary>
    /// Version 3 and: client libraries whose frames stood above the app's own in real reports, so that the library's
    /// method was the key of every failure passing through it, whichever of the app's methods called it (the Discord
    /// clients Discord.Net and DSharpPlus, Telegram.Bot, ODP.NET's OracleInternal); and an exception without usable
    /// frames counts the .NET names its message quotes (the subject) beside the parameterized message, which loses them
    /// (docs/grouping.md, "Version 4").
    /// </summary>
    public static GroupingRules V4 { get; } = new(4, V3, ["Discord", "DSharpPlus", "Telegram.Bot", "OracleInternal"],
        localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true);

    /// <summary>
    /// Version 4 and: the status an HTTP client's exception reports counts beside its frames (a client error's code, or
    /// "5xx" for a server error), so a refused request, a missing permission and the server's outage from one call are
    /// three issues, where frames alone made them one (docs/grouping.md, "Version 5").
    /// </summary>
    public static GroupingRules V5 { get; } = new(5, V4, [], localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true, httpStatus: true);

    /// <summary>
    /// Version 5 and: an entry point (Main) that only started a UI framework's message loop is no app frame, as it is below every
    /// event the loop dispatches; a namespace-qualified type name the message prints without quotes (the trimmed runtime's
    /// resource messages) names what failed like a quoted one where no app frame does; and without any usable frame, a short
    /// quoted name right after the word "type" is a type's name, never data (docs/grouping.md, "Version 6").
    /// </summary>
    public static GroupingRules V6 { get; } = new(6, V5, [], localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true, httpStatus: true,
        messageLoopEntryIsNotApp: true, unquotedTypeNames: true, typeNamesWithoutFrames: true);

    /// <summary>
    /// Version 6 and: without an app frame, a NullReferenceException thrown in framework code counts the method that dereferenced the
    /// null, not only its type (every null inside one big library type was one issue); and a framework property setter between a
    /// guard and its caller is passed over, as it only handed its value on (docs/grouping.md, "Version 7").
    /// </summary>
    public static GroupingRules V7 { get; } = new(7, V6, [], localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true, httpStatus: true,
        messageLoopEntryIsNotApp: true, unquotedTypeNames: true, typeNamesWithoutFrames: true, nullDereferenceMethod: true, settersPassTheirValue: true);

    /// <summary>
    /// Version 7 and: under <c>Microsoft</c>, only Microsoft's products (<see cref="Protocol.MicrosoftProducts"/>) are framework code,
    /// and the client's in-app mark is trusted there, so an app whose own code lives in <c>Microsoft.eShopOnContainers</c> or
    /// <c>Microsoft.Alm</c> has an app frame; an exception type under another <c>Microsoft.&lt;X&gt;</c> counts in full, as an app's
    /// (docs/grouping.md, "Version 8").
    /// </summary>
    public static GroupingRules V8 { get; } = new(8, V7, [], localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true, httpStatus: true,
        messageLoopEntryIsNotApp: true, unquotedTypeNames: true, typeNamesWithoutFrames: true, nullDereferenceMethod: true, settersPassTheirValue: true,
        microsoftProductsOnly: true);

    /// <summary>
    /// Version 8 and: a frame the client marked in-app by its namespace but whose assembly the client found among the app's NuGet
    /// packages (the frame's <c>package</c> field) is a library's, so the app's own frame below it is the app frame: two places of
    /// the app reaching one client library's failure are two issues (docs/grouping.md, "Version 9"). An event without the field
    /// (every SDK before it, any other client) groups as version 8. And: when the app frame is a lambda or local function of the entry
    /// point (a minimal API's handler in top-level statements, <c>Program.Main.&lt;lambda&gt;</c> for every endpoint), the request's
    /// endpoint (the <c>route</c> tag, else the <c>endpoint</c> tag) counts beside it, so each endpoint's crash is its own issue.
    /// </summary>
    public static GroupingRules V9 { get; } = new(9, V8, [], localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true, httpStatus: true,
        messageLoopEntryIsNotApp: true, unquotedTypeNames: true, typeNamesWithoutFrames: true, nullDereferenceMethod: true, settersPassTheirValue: true,
        microsoftProductsOnly: true, packagesAreLibraries: true, entryPointHandlersByEndpoint: true);

    /// <summary>
    /// Version 9 and: a minimal API handler the JIT inlined into the request delegate ASP.NET Core compiled for its endpoint (a Release
    /// build's small handler: no frame of the app's code is left, the generated <c>lambda_method</c> frame throws) counts the request's
    /// endpoint in the handler's place, where version 9 keyed it by the middleware that called the endpoint, one issue for every handler;
    /// and a handler's own frame (a lambda or local function of the entry point, which version 9 counted beside the endpoint) is shown, not
    /// counted, so the same lambda handler with and without its frame (Debug and Release builds, runtime settings) is one issue (docs/grouping.md,
    /// "Version 10").
    /// </summary>
    public static GroupingRules V10 { get; } = new(10, V9, [], localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true, httpStatus: true,
        messageLoopEntryIsNotApp: true, unquotedTypeNames: true, typeNamesWithoutFrames: true, nullDereferenceMethod: true, settersPassTheirValue: true,
        microsoftProductsOnly: true, packagesAreLibraries: true, entryPointHandlersByEndpoint: true, endpointStandsForHandler: true);

    /// <summary>
    /// Version 10 and: a named method that is an endpoint's handler (a minimal API's method group, an MVC action), as the SDK reads it from the
    /// endpoint's metadata (the <c>handler</c> tag), counts as the app frame in its own frame's place where the JIT inlined it into the endpoint's
    /// request delegate, where version 10 counted the route: the same method is one issue with and without its frame (Debug and Release builds,
    /// runtime settings), and whichever endpoint's handler called it (docs/grouping.md, "Version 11"). An event without the tag groups as version 10.
    /// And: a lambda of any method (a route group's <c>MapTodos</c>, not only the entry point) that the endpoint's request delegate called as its
    /// handler is keyed by the endpoint, as the entry point's lambdas are since version 9 (<see cref="DotNetFrames.IsEndpointLambda"/>).
    /// </summary>
    public static GroupingRules V11 { get; } = new(11, V10, [], localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true, httpStatus: true,
        messageLoopEntryIsNotApp: true, unquotedTypeNames: true, typeNamesWithoutFrames: true, nullDereferenceMethod: true, settersPassTheirValue: true,
        microsoftProductsOnly: true, packagesAreLibraries: true, entryPointHandlersByEndpoint: true, endpointStandsForHandler: true, handlerMethodStandsIn: true);

    /// <summary>
    /// Version 11 and: where a framework type's own throw helper threw (<see cref="DotNetFrames.IsOwnTypesThrowHelper"/>), that type is the
    /// component that threw, not the first frame after the helper, and it counts also where that frame is the app's: the JIT inlines a small
    /// framework method into its caller (another type's, or the app's) in optimized code and keeps it in tier-0, ReadyToRun and Debug code, so
    /// version 11 made one crash two or three issues, one per runtime setting and per warm-up (docs/grouping.md, "Version 12").
    /// </summary>
    public static GroupingRules V12 { get; } = new(12, V11, [], localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true, httpStatus: true,
        messageLoopEntryIsNotApp: true, unquotedTypeNames: true, typeNamesWithoutFrames: true, nullDereferenceMethod: true, settersPassTheirValue: true,
        microsoftProductsOnly: true, packagesAreLibraries: true, entryPointHandlersByEndpoint: true, endpointStandsForHandler: true, handlerMethodStandsIn: true,
        throwHelperOwnerThrew: true);

    /// <summary>
    /// Version 12 and: a lambda whose caller is ASP.NET Core's routing middleware (<see cref="DotNetFrames.IsEndpointMiddleware"/>) is an
    /// endpoint's handler too, keyed by its endpoint: an <c>async</c> lambda that returns a plain <c>Task</c> (a Carter module's handler, which
    /// writes its response itself) gets no wrapper of <c>RequestDelegateFactory</c>'s, so version 12 keyed every such handler of one module by
    /// the module's <c>AddRoutes.&lt;lambda&gt;</c>, one issue for all of them (docs/grouping.md, "Version 13").
    /// </summary>
    public static GroupingRules V13 { get; } = new(13, V12, [], localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true, httpStatus: true,
        messageLoopEntryIsNotApp: true, unquotedTypeNames: true, typeNamesWithoutFrames: true, nullDereferenceMethod: true, settersPassTheirValue: true,
        microsoftProductsOnly: true, packagesAreLibraries: true, entryPointHandlersByEndpoint: true, endpointStandsForHandler: true, handlerMethodStandsIn: true,
        throwHelperOwnerThrew: true, endpointMiddlewareCallsHandler: true);

    /// <summary>
    /// Version 13 and: a root cause with no frame of the app's code, in a request whose handler (the SDK's <c>handler</c> tag) is a library's
    /// method that is in its stack (the Razor Pages the Identity UI package brings, a controller of a package), is keyed by that handler, as an
    /// app frame would be, with the endpoint shown: version 13 keyed it by the library's throw site alone, so one database failure of the sign-in
    /// page and of the registration page was one issue named after <c>SqliteCommand</c> (docs/grouping.md, "Version 14").
    /// </summary>
    public static GroupingRules V14 { get; } = new(14, V13, [], localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true, httpStatus: true,
        messageLoopEntryIsNotApp: true, unquotedTypeNames: true, typeNamesWithoutFrames: true, nullDereferenceMethod: true, settersPassTheirValue: true,
        microsoftProductsOnly: true, packagesAreLibraries: true, entryPointHandlersByEndpoint: true, endpointStandsForHandler: true, handlerMethodStandsIn: true,
        throwHelperOwnerThrew: true, endpointMiddlewareCallsHandler: true, libraryHandlerStandsIn: true);

    /// <summary>
    /// Version 14 and: a root cause with no frame of the app's code whose exception type is its thrower's library's own (the type and the
    /// throwing frame share their root namespace, neither the runtime's nor Microsoft's) counts the method that threw it, where no name or
    /// status from the message counts: version 14 counted the thrower's type alone, so a storage's lock that could not be taken and one that
    /// could not be released were one issue (docs/grouping.md, "Version 15").
    /// </summary>
    public static GroupingRules V15 { get; } = new(15, V14, [], localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true, httpStatus: true,
        messageLoopEntryIsNotApp: true, unquotedTypeNames: true, typeNamesWithoutFrames: true, nullDereferenceMethod: true, settersPassTheirValue: true,
        microsoftProductsOnly: true, packagesAreLibraries: true, entryPointHandlersByEndpoint: true, endpointStandsForHandler: true, handlerMethodStandsIn: true,
        throwHelperOwnerThrew: true, endpointMiddlewareCallsHandler: true, libraryHandlerStandsIn: true, ownExceptionMethod: true);

    /// <summary>
    /// Version 15 and: on an event whose frames carry neither their assembly nor a package mark (a text trace, a client that reads no assemblies),
    /// the first app frame is passed over where it shares its root namespace with the root cause's exception type (neither the runtime's nor
    /// Microsoft's) and an app frame of other code follows: those frames are the library's that threw its own exception, the frame after them
    /// (and after an extension class right under them, the app's adapter of the library's calls) is the app's, and the library's throw site
    /// counts by its type. Version 15 keyed such a failure by the library's method, one issue for every application and every place of an
    /// application reaching it (docs/grouping.md, "Version 16"). An event whose frames carry their assembly (the .NET SDK's) groups as version 15:
    /// there the package fact tells a library's frames from the app's (version 9).
    /// </summary>
    public static GroupingRules V16 { get; } = new(16, V15, [], localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true, httpStatus: true,
        messageLoopEntryIsNotApp: true, unquotedTypeNames: true, typeNamesWithoutFrames: true, nullDereferenceMethod: true, settersPassTheirValue: true,
        microsoftProductsOnly: true, packagesAreLibraries: true, entryPointHandlersByEndpoint: true, endpointStandsForHandler: true, handlerMethodStandsIn: true,
        throwHelperOwnerThrew: true, endpointMiddlewareCallsHandler: true, libraryHandlerStandsIn: true, ownExceptionMethod: true, ownLibraryPassedOver: true);

    /// <summary>
    /// Version 16 and: beside a frame of the app's code, a COM error counts the HRESULT its message reports (<see cref="Grouping.ComErrorCode"/>):
    /// version 16 counted the type, the framework's throw site and the app frame, where the message does not count, so one app method's interop
    /// call failing with two error codes was one issue (docs/grouping.md, "Version 17").
    /// </summary>
    public static GroupingRules V17 { get; } = new(17, V16, [], localThrowHelpers: true, threadChecksAreGuards: true, framelessNames: true, httpStatus: true,
        messageLoopEntryIsNotApp: true, unquotedTypeNames: true, typeNamesWithoutFrames: true, nullDereferenceMethod: true, settersPassTheirValue: true,
        microsoftProductsOnly: true, packagesAreLibraries: true, entryPointHandlersByEndpoint: true, endpointStandsForHandler: true, handlerMethodStandsIn: true,
        throwHelperOwnerThrew: true, endpointMiddlewareCallsHandler: true, libraryHandlerStandsIn: true, ownExceptionMethod: true, ownLibraryPassedOver: true,
        comErrorCode: true);

    /// <summary>The rules ingest groups by.</summary>
    public static GroupingRules Current => V17;

    public int Version { get; }

    /// <summary>The version before this one, whose fingerprints this one's events carry as legacy ones where they differ; null for version 2 (version 1 is frozen apart).</summary>
    public GroupingRules? Previous { get; }

    /// <summary>
    /// Namespaces that are never the app's code, added by this version to the ones of the versions before it (version 2's
    /// are in <see cref="DotNetFrames"/>); a version's framework namespaces are its own and all its predecessors'.
    /// </summary>
    public string[] AddedFrameworkNamespaces { get; }

    /// <summary>Local functions named Throw* are throw helpers.</summary>
    public bool LocalThrowHelpers { get; }

    /// <summary>A dispatcher's VerifyAccess that throws is a framework guard: the caller's thread is the bug.</summary>
    public bool ThreadChecksAreGuards { get; }

    /// <summary>An exception without usable frames counts the .NET names its message quotes (the subject) beside the parameterized message.</summary>
    public bool FramelessNames { get; }

    /// <summary>An HTTP client's exception counts the status its message reports (<see cref="Grouping.HttpStatus"/>) when frames say where it was thrown.</summary>
    public bool HttpStatus { get; }

    /// <summary>A Main whose next frame toward the throw is a UI framework's message loop is not the app frame (<see cref="DotNetFrames.IsMessageLoop"/>).</summary>
    public bool MessageLoopEntryIsNotApp { get; }

    /// <summary>Without an app frame, the namespace-qualified type names the message prints without quotes count with the quoted ones.</summary>
    public bool UnquotedTypeNames { get; }

    /// <summary>Without any usable frame, a short quoted name right after the word "type" counts with the namespace-qualified ones.</summary>
    public bool TypeNamesWithoutFrames { get; }

    /// <summary>Without an app frame, a NullReferenceException thrown in framework code counts the method that dereferenced the null, not only its type.</summary>
    public bool NullDereferenceMethod { get; }

    /// <summary>A framework property setter that called a guard only passed its value on: the frame that called the setter is the guard's caller.</summary>
    public bool SettersPassTheirValue { get; }

    /// <summary>Under Microsoft only Microsoft's products are framework code, and the client's in-app mark is trusted there.</summary>
    public bool MicrosoftProductsOnly { get; }

    /// <summary>A frame from a NuGet package (<see cref="FrameRecord.Package"/>) is not the app's code; before, the client's in-app mark alone decided.</summary>
    public bool PackagesAreLibraries { get; }

    /// <summary>
    /// An app frame that is a lambda or local function of the entry point (<see cref="DotNetFrames.IsEntryPointLambda"/>) counts the request's
    /// endpoint beside it (<see cref="Grouper.EndpointName"/>): its name, ordinals dropped, is the same for every minimal API handler.
    /// </summary>
    public bool EntryPointHandlersByEndpoint { get; }

    /// <summary>
    /// The request's endpoint stands for a minimal API's handler: counted in its place when the handler was inlined into the endpoint's
    /// request delegate (<see cref="DotNetFrames.RequestDelegateIndex"/>: no app frame, the generated frame threw or called the framework),
    /// and counted instead of the handler's frame when that frame is a lambda or local function of the entry point (a named method's frame still counts).
    /// </summary>
    public bool EndpointStandsForHandler { get; }

    /// <summary>
    /// Where the handler was inlined into the endpoint's request delegate, the handler method the client names (<see cref="Grouper.HandlerMethod"/>,
    /// a named method, never a lambda) counts as the app frame its frame would have been, not the route; and a lambda of any method that the
    /// endpoint called as its handler (<see cref="DotNetFrames.IsEndpointLambda"/>) is keyed by the endpoint, as the entry point's lambdas are.
    /// </summary>
    public bool HandlerMethodStandsIn { get; }

    /// <summary>
    /// A framework type's own throw helper (<see cref="DotNetFrames.IsOwnTypesThrowHelper"/>) names the component that threw, whichever frame
    /// follows it: the throw site's own frame, a caller of another type it was inlined into, or the app's code.
    /// </summary>
    public bool ThrowHelperOwnerThrew { get; }

    /// <summary>
    /// A lambda that ASP.NET Core's routing middleware called or awaited directly (<see cref="DotNetFrames.IsEndpointMiddleware"/>: a handler that
    /// returns a plain <c>Task</c>) is an endpoint's handler, keyed by its endpoint like one the request delegate called.
    /// </summary>
    public bool EndpointMiddlewareCallsHandler { get; }

    /// <summary>
    /// A root cause with no frame of the app's code whose stack holds the request's handler method (a library's: the app's own would be an app
    /// frame) is keyed by that handler, the endpoint shown (<see cref="Grouper.LibraryHandlerFrame"/>).
    /// </summary>
    public bool LibraryHandlerStandsIn { get; }

    /// <summary>
    /// Without an app frame, a library's own exception type thrown in that library's code (<see cref="DotNetFrames.IsOwnException"/>) counts
    /// the method that threw it, not only its type, as a null dereference does since version 7.
    /// </summary>
    public bool OwnExceptionMethod { get; }

    /// <summary>
    /// On an event whose frames carry neither their assembly nor a package mark (<see cref="Grouper.CarriesAssemblies"/>), an app frame that
    /// shares its root namespace with the root cause's exception type is that library's: passed over, with an extension class right under it,
    /// for the next app frame of other code where the stack shows one, and the library's throw site counts by its type.
    /// </summary>
    public bool OwnLibraryPassedOver { get; }

    /// <summary>Beside an app frame, a COM error counts the HRESULT its message reports (<see cref="Grouping.ComErrorCode.Of"/>).</summary>
    public bool ComErrorCode { get; }

    /// <summary>
    /// Whether this version can group the event otherwise than <see cref="Previous"/>: only then is the
    /// previous version's fingerprint computed. Errs on the side of yes (a cheap test of names), and reads
    /// both the compiler's names (<c>&lt;M&gt;g__ThrowX|3_0</c>) and the .NET SDK's normalized ones (<c>M.ThrowX</c>).
    /// </summary>
    public bool MayDifferFromPrevious(IncomingEvent incoming)
    {
        if (Previous is null)
        {
            return false;
        }

        // Only what this version adds can make it differ: a rule it shares with the version before groups alike in both.
        var addsLocalThrowHelpers = LocalThrowHelpers && !Previous.LocalThrowHelpers;
        var addsThreadChecks = ThreadChecksAreGuards && !Previous.ThreadChecksAreGuards;
        var addsFramelessNames = FramelessNames && !Previous.FramelessNames;
        var addsHttpStatus = HttpStatus && !Previous.HttpStatus;
        var addsMessageLoopEntry = MessageLoopEntryIsNotApp && !Previous.MessageLoopEntryIsNotApp;
        var addsUnquotedNames = UnquotedTypeNames && !Previous.UnquotedTypeNames;
        var addsTypeNames = TypeNamesWithoutFrames && !Previous.TypeNamesWithoutFrames;
        var addsNullDereferenceMethod = NullDereferenceMethod && !Previous.NullDereferenceMethod;
        var addsSetters = SettersPassTheirValue && !Previous.SettersPassTheirValue;
        var addsMicrosoftApps = MicrosoftProductsOnly && !Previous.MicrosoftProductsOnly;
        var addsPackages = PackagesAreLibraries && !Previous.PackagesAreLibraries;
        var addsHelperOwner = ThrowHelperOwnerThrew && !Previous.ThrowHelperOwnerThrew;
        var addsOwnExceptionMethod = OwnExceptionMethod && !Previous.OwnExceptionMethod;
        var addsOwnLibrary = OwnLibraryPassedOver && !Previous.OwnLibraryPassedOver && !Grouper.CarriesAssemblies(incoming);
        var addsComErrorCode = ComErrorCode && !Previous.ComErrorCode;

        // An event without an endpoint tag (most: a worker's, a desktop app's) cannot be grouped otherwise by the endpoint rule.
        var addsEndpoints = EntryPointHandlersByEndpoint && !Previous.EntryPointHandlersByEndpoint && Grouper.EndpointName(incoming) is not null;
        var addsHandlerStandIn = EndpointStandsForHandler && !Previous.EndpointStandsForHandler && Grouper.EndpointName(incoming) is not null;

        // Version 11 reads the handler tag only where version 10 read the route in an inlined handler's place: a compiled lambda in the stack.
        var addsHandlerMethod = HandlerMethodStandsIn && !Previous.HandlerMethodStandsIn && Grouper.EndpointName(incoming) is not null
            && Grouper.HandlerMethod(incoming) is not null;

        // And a lambda of another method than the entry point keyed by its endpoint: its caller is the compiled request delegate, or
        // ASP.NET Core's RequestDelegateFactory (or the generator's code) where it awaited.
        var addsEndpointLambdas = HandlerMethodStandsIn && !Previous.HandlerMethodStandsIn && Grouper.EndpointName(incoming) is not null;
        // And a lambda the routing middleware awaited directly (a plain Task handler) keyed by its endpoint.
        var addsMiddlewareLambdas = EndpointMiddlewareCallsHandler && !Previous.EndpointMiddlewareCallsHandler && Grouper.EndpointName(incoming) is not null;
        // And a library's handler method in the stack keyed by its name: only an event with a route and a handler tag, and a frame of that method.
        var addsLibraryHandler = LibraryHandlerStandsIn && !Previous.LibraryHandlerStandsIn && Grouper.EndpointName(incoming) is not null
            && Grouper.HandlerMethod(incoming) is not null;
        if (addsLibraryHandler && Grouper.LibraryHandlerFrame(incoming.Exceptions.Select(e => e.Frames).ToList(), Grouper.HandlerMethod(incoming)!, this) is not null)
        {
            return true;
        }

        var readsFrames = AddedFrameworkNamespaces.Length > 0 || addsMiddlewareLambdas || addsLocalThrowHelpers || addsThreadChecks || addsMicrosoftApps || addsPackages || addsEndpoints
            || addsHandlerStandIn || addsHandlerMethod || addsEndpointLambdas || addsHelperOwner;
        var exceptions = incoming.Exceptions;
        for (var e = 0; e < exceptions.Count; e++)
        {
            if (HasAddedNamespace(exceptions[e].Type) || (addsMicrosoftApps && IsUnlistedMicrosoft(exceptions[e].Type)) || (addsFramelessNames && MayBeFramelessWithNames(exceptions[e]))
                || (addsHttpStatus && Grouping.HttpStatus.Of(exceptions[e].Type, exceptions[e].Value) is not null)
                || (addsUnquotedNames && Grouper.MayPrintUnquotedTypeName(exceptions[e].Value))
                || (addsTypeNames && Grouper.MayQuoteTypeName(exceptions[e].Value) && HasOnlyNoise(exceptions[e]))
                || (addsMessageLoopEntry && FirstAppFrameIsEntryPoint(exceptions[e].Frames))
                || (addsNullDereferenceMethod && DotNetFrames.IsNullDereference(exceptions[e].Type) && !HasAppFrameBesidesEntryPoint(exceptions[e].Frames))
                || (addsSetters && HasPropertySetter(exceptions[e].Frames) && !HasAppFrameBesidesEntryPoint(exceptions[e].Frames))
                || (addsOwnExceptionMethod && ThrownByOwnLibrary(exceptions[e]) && !HasAppFrameBesidesEntryPoint(exceptions[e].Frames))
                || (addsOwnLibrary && ThrownByOwnLibrary(exceptions[e]))
                || (addsComErrorCode && Grouping.ComErrorCode.Of(exceptions[e].Type, exceptions[e].Value) is not null))
            {
                return true;
            }

            // A version that adds nothing about frames (version 5) need not read them: most events have dozens.
            var frames = exceptions[e].Frames;
            for (var f = 0; readsFrames && f < frames.Count; f++)
            {
                var frame = frames[f];
                if (HasAddedNamespace(frame.Type)
                    || (addsLocalThrowHelpers && (Contains(frame.Function, "g__Throw") || Contains(frame.Function, ".Throw") || Contains(frame.Type, "g__Throw")))
                    || (addsThreadChecks && Contains(frame.Function, "VerifyAccess"))
                    || (addsMicrosoftApps && MayBeMicrosoftApp(frame))
                    || (addsPackages && frame.Package)
                    || (addsHelperOwner && MayBeOwnTypesThrowHelper(frame))
                    || (addsEndpoints && DotNetFrames.MayBeEntryPointLambda(frame))
                    || (addsHandlerStandIn && (DotNetFrames.MayBeEntryPointLambda(frame) || DotNetFrames.IsCompiledLambda(frame)))
                    || (addsHandlerMethod && DotNetFrames.IsCompiledLambda(frame))
                    || (addsEndpointLambdas && (DotNetFrames.IsCompiledLambda(frame) || DotNetFrames.IsRequestDelegateAwaiting(frame)) && AnyMayBeLambda(frames, f))
                    || (addsMiddlewareLambdas && DotNetFrames.IsEndpointMiddleware(frame) && AnyMayBeLambda(frames, f)))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// Whether the first frame of the app's code in these frames, by the previous version's reading, is an entry point: only then
    /// can version 6 read another app frame (or none). Stops at the first app frame, which most events reach within a few frames;
    /// a Main below the app's own frames (every UI thread's stack ends in one) is not looked at, and without any entry point in
    /// the stack no frame is.
    /// </summary>
    private bool FirstAppFrameIsEntryPoint(IReadOnlyList<FrameRecord> frames)
    {
        // Names first: most events (a server's, a worker's) have no entry point in their stack, and deciding whether a frame is
        // the app's or noise cuts its type's last segment out, which allocates.
        var entryPoint = false;
        for (var f = 0; f < frames.Count && !entryPoint; f++)
        {
            entryPoint = DotNetFrames.IsEntryPoint(frames[f]);
        }

        for (var f = 0; entryPoint && f < frames.Count; f++)
        {
            if (DotNetFrames.IsApp(frames[f], this) && !DotNetFrames.IsNoise(frames[f], this))
            {
                return DotNetFrames.IsEntryPoint(frames[f]);
            }
        }

        return false;
    }

    /// <summary>
    /// Version 8: a frame version 7 read otherwise: marked in-app under Microsoft (any product: the mark is trusted), or a message loop's
    /// method under a Microsoft namespace that is no product (version 6's entry point rule reads message loops as framework code only).
    /// Names only, and the mark first: most events' Microsoft frames are unmarked products, and then only a loop's method name is compared.
    /// </summary>
    private static bool MayBeMicrosoftApp(FrameRecord frame) => frame.InApp || frame.Package
        ? MicrosoftProducts.Classify(frame.Type).IsMicrosoft
        : DotNetFrames.MayBeMessageLoopMethod(frame.Function) && MicrosoftProducts.IsUnlistedMicrosoft(frame.Type);

    private static bool IsUnlistedMicrosoft(string? typeName) => MicrosoftProducts.IsUnlistedMicrosoft(typeName.AsSpan().TrimStart());

    /// <summary>Whether a property setter is among these frames (names only: most stacks have none, and then no frame is read further).</summary>
    /// <summary>A frame of the exception's own library among its frames (<see cref="DotNetFrames.IsOwnException"/>): a cheap over-estimate of version 15's case.</summary>
    private static bool ThrownByOwnLibrary(ExceptionRecord exception)
    {
        // Most exception types are the runtime's: they are ruled out before any frame is read.
        var root = exception.Type.IndexOf('.', StringComparison.Ordinal);
        if (root <= 0 || exception.Type.StartsWith("System.", StringComparison.Ordinal) || exception.Type.StartsWith("Microsoft.", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var frame in exception.Frames)
        {
            if (frame.Type is { } type && type.AsSpan().StartsWith(exception.Type.AsSpan(0, root + 1), StringComparison.Ordinal)
                && DotNetFrames.IsOwnException(exception.Type, frame))
            {
                return true;
            }
        }

        return false;
    }

    private static bool HasPropertySetter(IReadOnlyList<FrameRecord> frames)
    {
        for (var f = 0; f < frames.Count; f++)
        {
            if (DotNetFrames.IsPropertySetter(frames[f]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether a frame of the app's code other than an entry point is in these frames: then the app frame is the key in both versions
    /// (a null dereference's, or a guard's that a setter called). Errs on the side of no app frame (an entry point under a message loop is not the app frame since
    /// version 6, and wrappers' frames are not looked at); most app NREs stop at their first frame.
    /// </summary>
    private bool HasAppFrameBesidesEntryPoint(IReadOnlyList<FrameRecord> frames)
    {
        for (var f = 0; f < frames.Count; f++)
        {
            if (DotNetFrames.IsApp(frames[f], this) && !DotNetFrames.IsEntryPoint(frames[f]) && !DotNetFrames.IsNoise(frames[f], this))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A message that quotes a namespace-qualified name, on an exception without a frame that counts (errs on the side of yes:
    /// the root cause's wrappers may still have frames). The message is looked at first, without allocating: most messages
    /// quote no such name, and deciding whether a frame is noise normalizes its names.
    /// </summary>
    private bool MayBeFramelessWithNames(ExceptionRecord exception) => Grouper.QuotesDottedName(exception.Value) && HasOnlyNoise(exception);

    /// <summary>Whether no frame of the exception says where it failed (none at all, or only rethrow plumbing, throw helpers, generated code).</summary>
    private bool HasOnlyNoise(ExceptionRecord exception)
    {
        // A loop over the list, not foreach over the interface, which would allocate an enumerator.
        var frames = exception.Frames;
        for (var f = 0; f < frames.Count; f++)
        {
            if (!DotNetFrames.IsNoise(frames[f], this))
            {
                return false;
            }
        }

        return true;
    }

    private bool HasAddedNamespace(string? typeName)
    {
        if (string.IsNullOrEmpty(typeName))
        {
            return false;
        }

        var name = typeName.AsSpan().TrimStart();
        foreach (var prefix in AddedFrameworkNamespaces)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A lambda or local function by the compiler's names (<c>&lt;M&gt;b__0_1</c>, <c>&lt;M&gt;g__Local|0_2</c>, an async one's state machine) or the .NET SDK's (<c>M.&lt;lambda&gt;</c>, <c>M.Local</c>): errs on the side of yes.</summary>
    /// <summary>Whether a frame before <paramref name="end"/> (the request delegate's or ASP.NET Core's awaiting frame, rare) may be a lambda: looked for only then, as most events have neither.</summary>
    private static bool AnyMayBeLambda(IReadOnlyList<FrameRecord> frames, int end)
    {
        for (var f = 0; f < end; f++)
        {
            if (MayBeLambda(frames[f]))
            {
                return true;
            }
        }

        return false;
    }

    private static bool MayBeLambda(FrameRecord frame) =>
        Contains(frame.Function, "b__") || Contains(frame.Function, "g__") || Contains(frame.Type, "b__") || Contains(frame.Type, "g__")
        || (!DotNetFrames.IsCompiledLambda(frame) && frame.Function.Contains('.', StringComparison.Ordinal));

    /// <summary>
    /// Version 12: a method named Throw* of a type not named as a helper or an exception (<see cref="DotNetFrames.IsOwnTypesThrowHelper"/>), by
    /// its names only: most events' throw helpers are the runtime's <c>ThrowHelper</c>'s, whose frames the runtime hides, or an exception's.
    /// </summary>
    private static bool MayBeOwnTypesThrowHelper(FrameRecord frame) =>
        Contains(frame.Function, "Throw") && frame.Type is { } type
        && !type.EndsWith("ThrowHelper", StringComparison.Ordinal) && !type.EndsWith("Exception", StringComparison.Ordinal);

    private static bool Contains(string? text, string part) => text is not null && text.Contains(part, StringComparison.Ordinal);
}

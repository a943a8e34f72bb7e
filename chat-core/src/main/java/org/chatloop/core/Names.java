package org.chatloop.core;

import java.util.Locale;

/** The naming rules for nicks and rooms. Pure. */
final class Names {
    /** Longest nick or room name, in characters. */
    static final int MAX_LENGTH = 32;
    static final String RULE = "1-" + MAX_LENGTH + " characters of A-Z a-z 0-9 _ . -";

    private Names() {
    }

    /** @return whether {@code name} is 1-32 characters of {@code [A-Za-z0-9_.-]} */
    static boolean isValid(String name) {
        int n = name.length();
        if (n < 1 || n > MAX_LENGTH) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = name.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '_' || c == '.' || c == '-';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** @return the key under which names compare: case-insensitive */
    static String key(String name) {
        return name.toLowerCase(Locale.ROOT);
    }
}
